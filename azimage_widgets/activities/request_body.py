"""The one builder of a Request Image request: Generate, ``run(data)`` and View code use it.

The request follows the activity's effective request schema (see
schema_edit): a field the schema lacks is neither taken from a dataset nor
sent (a schema without ``size`` leaves ``size`` out of the body, so the
service applies its default); a field an edit added is sent as given
(``extra``). A dataset's values win over the configuration. Everything is
checked by the contract before anything is sent.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ..contract import ImageRequest, ValidationError, version_spec
from ..contract.image_models import uses_model_rules
from ..contract.limits import OPTION_NAMES
from ..contract.model_rules import generation_body
from ..contract.text import check_json_value
from .model_settings import MODEL_OPTION_NAMES, check_generation
from .schema_edit import check_value
from .schema_registry import request_fields

#: Fields of the contract's request that are arguments of their own (not options, not extra).
CONTRACT_FIELDS = ("prompt", "n", "size", "user")
#: Contract fields a schema edit may remove (the service has a default for them).
OMITTABLE = ("n", "size")


@dataclass(frozen=True)
class ModelRequest:
    """A generation checked by its model's rules (``model_rules``; v1 and 2025-04-01-preview):
    the fields as sent (``None`` left out), the deployment called (None: the connection's),
    the model whose rules apply (None: the connection's, else the deployment name's)."""

    fields: Mapping[str, Any]
    api_version: str
    deployment: str | None = None
    model: str | None = None

    @property
    def prompt(self) -> str:
        return str(self.fields["prompt"])

    @property
    def size(self) -> str | None:
        return self.fields.get("size")

    @property
    def n(self) -> int:
        return int(self.fields.get("n") or 1)

    @property
    def user(self) -> str | None:
        return self.fields.get("user")

    @property
    def options(self) -> dict[str, Any]:
        return {k: v for k, v in self.fields.items() if k not in CONTRACT_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """The JSON body the client sends (``self.model`` only chose the rules: never sent)."""
        return generation_body(self.api_version, self.deployment, self.fields)


@dataclass(frozen=True)
class PreparedRequest:
    """A checked request: the contract's ImageRequest, the schema's added fields, the left-out ones."""

    request: Union[ImageRequest, ModelRequest]  # noqa: UP007 - read by dataclasses at runtime
    extra: Mapping[str, Any] = field(default_factory=dict)
    omit: tuple[str, ...] = ()

    # the request's fields, read through
    @property
    def prompt(self) -> str:
        return self.request.prompt

    @property
    def size(self) -> str | None:
        return self.request.size

    @property
    def n(self) -> int:
        return self.request.n

    @property
    def user(self) -> str | None:
        return self.request.user

    @property
    def api_version(self) -> str:
        return self.request.api_version

    @property
    def options(self) -> dict[str, Any]:
        return self.request.options

    def to_json(self) -> dict[str, Any]:
        """The JSON body that is sent."""
        body = self.request.to_json()
        for key in self.omit:
            body.pop(key, None)
        body.update(self.extra)
        return body

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ImageClient.request_image`` that send exactly this body."""
        req = self.request
        options = dict(req.options)
        extra = dict(self.extra)
        if isinstance(req, ModelRequest):
            if req.deployment:
                options["deployment"] = req.deployment
            if req.model:
                options["model"] = req.model
            for name in MODEL_OPTION_NAMES:  # not an argument of request_image: sent as given
                if name in options:
                    extra[name] = options.pop(name)
        kwargs: dict[str, Any] = {"prompt": req.prompt, "size": req.size, "n": req.n,
                                  "user": req.user, "api_version": req.api_version, **options}
        if extra:
            kwargs["extra_body"] = extra
        if self.omit:
            kwargs["omit"] = list(self.omit)
        return kwargs


def configured_values(activity: Any) -> dict[str, Any]:
    """The activity's configured request values (unset options left out)."""
    values: dict[str, Any] = {"prompt": activity.prompt, "size": activity.size, "n": activity.n,
                              "user": getattr(activity, "user", None)}
    for name in (*OPTION_NAMES, *MODEL_OPTION_NAMES):
        value = getattr(activity, name, None)
        if value is not None:
            values[name] = value
    values.pop("input_fidelity", None)  # an edit's setting
    return values


def build_request(activity: Any, dataset: Mapping[str, Any] | None = None) -> PreparedRequest:
    """The request ``activity`` sends for ``dataset`` (None: its configuration alone).

    ValidationError naming the field when a dataset key is not a schema field,
    a value has the wrong type, is not JSON, or breaks a limit of the contract.
    """
    dataset = dataset or {}
    fields = request_fields(activity)
    for key in dataset:
        if key not in fields:
            raise ValidationError(key, "is not a field of the request schema "
                                  f"({', '.join(fields)}); edit the schema to add it")
    config = configured_values(activity)
    version = activity.api_version
    option_names = version_spec(version).option_names
    named: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, f in fields.items():
        if name in dataset:
            value = dataset[name]
        elif config.get(name) not in (None, ""):
            value = config[name]
        else:
            continue
        value = check_value(name, f.type, value)
        if name in CONTRACT_FIELDS or name in option_names:
            named[name] = value
        else:
            extra[name] = check_json_value(name, value)
    if "prompt" not in named:
        if not dataset:  # Generate with an empty prompt
            raise ValidationError("prompt", "must not be empty or blank")
        raise ValidationError("prompt", "is required: give it in the dataset or the configuration")
    omit = tuple(k for k in OMITTABLE if k not in fields)
    if uses_model_rules(version):
        # the model's rules; moderation is no schema field, but a setting of the model
        if "moderation" in config and "moderation" not in named and "moderation" not in extra:
            named["moderation"] = config["moderation"]
        sent = {k: v for k, v in named.items() if v is not None and k not in omit}
        check_generation(activity, {**sent, **extra})
        return PreparedRequest(ModelRequest(sent, version, activity.deployment,
                                            getattr(activity, "model", None)), extra)
    if "size" in omit:
        named["size"] = None
    request = ImageRequest(api_version=version, **named)
    return PreparedRequest(request, extra, omit)


__all__ = ["CONTRACT_FIELDS", "ModelRequest", "PreparedRequest", "build_request", "configured_values"]
