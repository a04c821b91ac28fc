"""The base of every activity: name registry, configuration save/discard, run state.

An activity is a plain ``traitlets.HasTraits`` object: a script uses it with
no widgets at all, and a panel observes its traits. It never imports
ipywidgets.

Configuration (the traits listed in ``config_names``) follows the seeds'
two-step editor: edits change the live traits at once (``dirty`` turns
true), ``save()`` takes a snapshot into ``saved``, ``discard()`` restores
the last snapshot. A new activity starts saved.

Names are unique per activity kind in the process. Choice where the issue is
silent: constructing an activity with a name another live activity of the
kind holds raises ValidationError, unless ``replace=True`` (what the panels
pass: re-running a notebook cell replaces the old panel, which is closed);
renaming onto a taken name always raises. ``close()`` frees the name.

Run state, for widgets and scripts to follow: ``state``, a frozen RunState
(status, message, error, the ids and results of the last run; ``running``
and ``elapsed`` derived), replaced as a run moves on (see run_state), and
``progress`` (one dict per operation: id, status, elapsed seconds, images,
message). ``status``, ``message``, ``error`` and ``running`` read ``state``.
The run steps (dataset_runs, operation_chain, download_result) move the state through the
public ``start_run`` / ``end_run`` / ``fail_run`` / ``cancel_run`` /
``publish`` / ``update_operation``.
"""
from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, TraitError, Unicode, observe, validate

from ..contract import (
    DEFAULT_API_VERSION,
    TERMINAL_STATUSES,
    ValidationError,
    version_spec,
)
from ..contract.text import check_display_name, is_blank
from .failures import error_info, format_error
from .run_state import CANCEL_MESSAGE, RunStateOwner, RunStatus
from .variables import check_output_name

#: kind -> {name: activity}; weak so a dropped activity frees its name.
_REGISTRY: dict[str, weakref.WeakValueDictionary[str, Activity]] = {}
_COUNTERS: dict[str, Iterable[int]] = {}

def registered(kind: str) -> dict[str, Activity]:
    """The live activities of a kind, by name (a copy)."""
    return dict(_REGISTRY.get(kind, {}))


class UsesConnection:
    """``self.conn`` (or the environment's) and its shared client: Activity and Compare."""

    conn: Any

    @property
    def connection(self) -> Any:
        """The connection; ``Connection.from_env()`` (the emulator when nothing is set) if none was given."""
        if self.conn is None:
            from ..connect import from_env  # may start the embedded emulator

            self.conn = from_env()
        return self.conn

    def client(self) -> Any:
        """The client requests go through: the one given, else the connection's shared client
        on the running loop."""
        given = getattr(self, "_client", None)
        if given is not None:
            return given
        from ..client import client_for, shared_client

        transport = getattr(self, "_transport", None)
        if transport is not None:
            self._client = client_for(self.connection, transport=transport)
            return self._client
        return shared_client(self.connection)

    def connection_version(self) -> str:
        """The api-version of the connection (without making one: the environment's when unset)."""
        version = getattr(self.conn, "api_version", None)
        if isinstance(version, str):
            return version
        from ..client import env_api_version

        return env_api_version()


class Activity(UsesConnection, RunStateOwner):
    """Base of RequestImage and DownloadImage."""

    #: Registry key and schema kind, e.g. "request_image".
    kind: ClassVar[str] = "activity"
    #: Human name of the activity type, e.g. "Request Image".
    label: ClassVar[str] = "Activity"
    #: The traits that make up the saved configuration.
    config_names: ClassVar[tuple[str, ...]] = ("name", "api_version", "continue_on_error", "output")
    #: Settings every kind has on top of ``config_names`` (saved, discarded, exported alike).
    extra_config_names: ClassVar[tuple[str, ...]] = ("schema_edit",)

    name = Unicode(help="Unique per activity kind; no / or :.")
    api_version = Unicode(DEFAULT_API_VERSION, help="One of contract.API_VERSIONS.")
    continue_on_error = Bool(False, help="Keep going when one operation of a run fails.")
    output = Unicode("", help="Variable name the result is bound to when a run finishes.")

    schema_edit = AnyTrait(None, allow_none=True,
                           help="This activity's edited schemas (see schema_edit), or None: the shared ones.")

    saved = Dict(help="The last saved configuration.")
    dirty = Bool(False, help="True when the configuration differs from `saved`.")

    closed = Bool(False)

    def __init__(self, conn: Any = None, *, name: str | None = None,
                 namespace: Any = None, replace: bool = False, store: Any = None,
                 client: Any = None, transport: Any = None, **config: Any) -> None:
        """``client``: the ImageClient requests go through (default: the connection's shared
        one); ``transport``: an httpx transport for a client of this activity's own (e.g.
        httpx.MockTransport in a unit test)."""
        if client is not None and conn is None:
            conn = client.connection
        self.conn = conn
        self._client = client
        self._transport = transport
        self.namespace = namespace
        #: Where fetched images are kept: None the default image store, False off,
        #: a folder or an ImageStore (see azimage_widgets.store).
        self.store = store
        self._task: asyncio.Task[Any] | None = None
        self._on_close: list[Callable[[Activity], None]] = []
        #: The name of the newer activity that took this one's name (``replace=True``), if any.
        self.replaced_by: str | None = None
        super().__init__()
        self.observe(self._update_dirty, names=list(self.all_config_names()))
        reg = _REGISTRY.setdefault(self.kind, weakref.WeakValueDictionary())
        if name is None:
            name = self._fresh_name()
        elif replace:
            holder = reg.get(name) if isinstance(name, str) else None
            if holder is not None and holder is not self:
                holder.replaced_by = name
                holder.close(reason=f"replaced by a new {self.label} activity named {name!r}")
        self.set_setting("name", name)
        unknown = set(config) - set(self.all_config_names())
        if unknown:
            raise ValidationError(sorted(unknown)[0], f"is not a setting of {self.label}")
        # api_version first: other settings are checked against it. Not given: the
        # connection's (or, with none yet, the version Connection.from_env will use).
        version = config.pop("api_version", None)
        self.set_setting("api_version", version if version is not None else self.connection_version())
        for key, value in config.items():
            if value is not None:
                self.set_setting(key, value)
        self.save()

    def set_setting(self, key: str, value: Any) -> None:
        """Set one setting; a value of the wrong type is a ValidationError naming ``key``."""
        try:
            setattr(self, key, value)
        except TraitError:
            trait = self.traits().get(key)
            wanted = trait.info() if trait is not None else "another type"
            raise ValidationError(key, f"must be {wanted}", type(value).__name__) from None

    # -- names ---------------------------------------------------------------
    def _fresh_name(self) -> str:
        counter = _COUNTERS.setdefault(self.kind, itertools.count(1))
        reg = _REGISTRY[self.kind]
        base = self.kind.replace("_", "-")
        while True:
            candidate = f"{base}-{next(counter)}"  # type: ignore[call-overload]
            if candidate not in reg:
                return candidate

    @validate("name")
    def _check_name(self, proposal: Any) -> str:
        return self.check_name(proposal["value"])

    def check_name(self, value: Any) -> str:
        """``value`` if it can be this activity's name; ValidationError naming ``name`` if not."""
        if not isinstance(value, str):
            raise ValidationError("name", "must be a string", type(value).__name__)
        check_display_name("name", value)
        if is_blank(value):
            raise ValidationError("name", "must not be empty")
        if value != value.strip():
            raise ValidationError("name", "must not start or end with spaces", value)
        bad = [c for c in "/:" if c in value]
        if bad:
            raise ValidationError("name", f"must not contain {' or '.join(repr(c) for c in bad)}", value)
        if len(value) > 200:
            raise ValidationError("name", "at most 200 characters")
        holder = self._holder(value)
        if holder is not None and holder is not self:
            raise ValidationError(
                "name", f"must be unique: another {self.label} activity is named {value!r}")
        return value

    def _holder(self, value: str) -> Activity | None:
        reg = _REGISTRY.setdefault(self.kind, weakref.WeakValueDictionary())
        holder = reg.get(value)
        if holder is not None and holder is not self:
            # a dropped activity may linger in a reference cycle: collect once, look again
            holder = None
            gc.collect()
            holder = reg.get(value)
        return holder

    @observe("name")
    def _register_name(self, change: Any) -> None:
        reg = _REGISTRY.setdefault(self.kind, weakref.WeakValueDictionary())
        old = change["old"]
        if old and reg.get(old) is self:
            del reg[old]
        if not self.closed:
            reg[change["new"]] = self

    @classmethod
    def named(cls, name: str) -> Activity:
        """The live activity of this kind named ``name`` (what View code reaches a panel's
        connection through); KeyError naming the live ones when there is none."""
        reg = _REGISTRY.get(cls.kind)
        found = reg.get(name) if reg is not None else None
        if found is None or found.closed:
            live = sorted(registered(cls.kind))
            raise KeyError(f"no live {cls.label} named {name!r} in this kernel "
                           f"(live: {', '.join(map(repr, live)) or 'none'})")
        return found

    # -- other settings --------------------------------------------------------
    @validate("api_version")
    def _check_version(self, proposal: Any) -> str:
        value = str(proposal["value"])
        version_spec(value)
        return value

    @validate("output")
    def _check_output(self, proposal: Any) -> str:
        return check_output_name(proposal["value"])

    @validate("schema_edit")
    def _check_schema_edit(self, proposal: Any) -> Any:
        from .schema_edit import check_edit

        return check_edit(self.kind, self.api_version, proposal["value"])

    # -- configuration snapshot -------------------------------------------------
    @classmethod
    def all_config_names(cls) -> tuple[str, ...]:
        return tuple(cls.config_names) + tuple(
            n for n in cls.extra_config_names if n not in cls.config_names)

    def config(self) -> dict[str, Any]:
        """The current configuration (the traits of ``config_names`` and ``extra_config_names``)."""
        return {k: getattr(self, k) for k in self.all_config_names()}

    async def run(self, data: Any = None, **options: Any) -> Any:
        """Run over datasets (a mapping, a list of mappings, a DataFrame); see ``dataset_runs``."""
        from .dataset_runs import run_activity

        return await run_activity(self, data, **options)

    def validate_config(self) -> None:
        """Raise ValidationError for a configuration that cannot be saved (subclasses add rules)."""

    def save(self) -> dict[str, Any]:
        """Make the current configuration the saved one; returns the snapshot."""
        self.validate_config()
        snap = self.config()
        self.saved = snap
        self.dirty = False
        return snap

    def discard(self) -> dict[str, Any]:
        """Restore the last saved configuration; returns it."""
        snap = dict(self.saved)
        with self.hold_trait_notifications():
            if "api_version" in snap:
                self.set_setting("api_version", snap["api_version"])
            for key, value in snap.items():
                if key != "api_version":
                    self.set_setting(key, value)
        self._update_dirty()
        return snap

    def _update_dirty(self, change: Any = None) -> None:
        self.dirty = self.config() != self.saved

    @observe("saved")
    def _on_saved(self, change: Any) -> None:
        self._update_dirty()

    async def delete(self, ids: Iterable[str] | None = None) -> list[str]:
        """Delete finished operations at the service (default: this activity's own); returns the ids deleted.

        The service deletes only finished operations; a failure is recorded in
        ``error`` and raised.
        """
        if ids is None:
            ids = self.operation_ids()
        ids = [i for i in ids if i]
        if not ids:
            raise ValidationError("id", "there is no operation to delete yet")
        client = self.client()
        done: list[str] = []
        try:
            for op_id in ids:
                row = self.operation_row(op_id)
                if row is not None and row.get("status") not in TERMINAL_STATUSES | {"stopped", ""}:
                    raise ValidationError(
                        "id", f"operation {op_id} is still {row.get('status')}; "
                              "the service deletes only finished operations")
                await client.delete_operation(op_id, api_version=self.api_version)
                self.update_operation(op_id, status="deleted", message="deleted at the service")
                done.append(op_id)
        except Exception as exc:
            info = error_info(exc)
            self.state = dataclasses.replace(self.state, error=info, message=format_error(info))
            raise
        self.end_run(RunStatus.DELETED, f"Deleted {', '.join(done)}.")
        return done

    # -- lifecycle ----------------------------------------------------------
    def on_close(self, callback: Callable[[Activity], None]) -> None:
        """Call ``callback(activity)`` when the activity is closed (e.g. replaced)."""
        self._on_close.append(callback)

    def close(self, reason: str = "") -> None:
        """Free the name, stop a run, and tell observers (a panel closes its widgets)."""
        if self.closed:
            return
        self.cancel()
        reg = _REGISTRY.get(self.kind)
        if reg is not None and reg.get(self.name) is self:
            del reg[self.name]
        self.closed = True
        if reason:
            self.state = dataclasses.replace(self.state, message=reason)
        for cb in list(self._on_close):
            cb(self)
        self._on_close.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, status={self.status.value!r})"


__all__ = ["Activity", "CANCEL_MESSAGE", "error_info", "format_error", "registered"]
