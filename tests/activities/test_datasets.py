"""Datasets: what run(data) accepts, and data precedence over the configuration.

Normalising is checked without network; precedence and order against the emulator over HTTP.
"""
from __future__ import annotations

import math
import uuid

import pytest

from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.datasets import merge, normalize
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.contract import ValidationError


def uniq(prefix: str = "d") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- normalising -------------------------------------------------------------------------

def test_mapping_list_strings_and_none():
    assert normalize(None) == [{}]
    assert normalize({"prompt": "a", "n": 2}) == [{"prompt": "a", "n": 2}]
    assert normalize([{"prompt": "a"}, "b"]) == [{"prompt": "a"}, {"prompt": "b"}]
    assert normalize(("x" for _ in range(2)), key_field="id") == [{"id": "x"}, {"id": "x"}]
    assert normalize("just one") == [{"prompt": "just one"}]
    assert normalize([]) == []


def test_missing_values_leave_the_field_to_the_configuration():
    assert normalize([{"prompt": "a", "size": None, "n": math.nan}]) == [{"prompt": "a"}]
    assert normalize([{"n": 2.0}]) == [{"n": 2}]  # a whole float (a DataFrame column with gaps)
    assert normalize([{"n": 2.5}]) == [{"n": 2.5}]  # not made whole: refused later, by type


def test_image_id_alias_and_bad_inputs():
    assert normalize([{"image_id": "abc"}], key_field="id") == [{"id": "abc"}]
    with pytest.raises(ValidationError, match="twice"):
        normalize([{"id": "a", "image_id": "b"}], key_field="id")
    with pytest.raises(ValidationError, match=r"data\[1\]"):
        normalize([{"prompt": "a"}, 42])
    with pytest.raises(ValidationError, match="data"):
        normalize(42)
    with pytest.raises(ValidationError, match="field names"):
        normalize([{1: "a"}])


def test_merge_dataset_wins():
    cfg = {"prompt": "config", "size": "1024x1024", "n": 1, "user": None}
    assert merge(cfg, {"size": "256x256"}) == {"prompt": "config", "size": "256x256", "n": 1}
    assert merge(cfg, {"prompt": "data", "n": None}) == {"prompt": "data", "size": "1024x1024", "n": 1}


def test_dataframe_rows_are_datasets():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt": ["a", "b", "c"], "n": [1, None, 3],
                       "size": ["256x256", None, "512x512"]})
    rows = normalize(df)
    assert rows == [{"prompt": "a", "n": 1, "size": "256x256"}, {"prompt": "b"},
                    {"prompt": "c", "n": 3, "size": "512x512"}]
    assert all(type(r.get("n", 0)) is int for r in rows)  # numpy scalars made plain


# -- against the emulator ---------------------------------------------------------------

async def test_dataset_fields_win_over_configuration_and_order_is_kept(conn):
    log = OperationLog()
    req = RequestImage(conn, name=uniq(), prompt="from the configuration", size="512x512", n=1,
                       namespace={})
    data = [{"prompt": "first", "size": "256x256"},
            {},                                    # the configuration alone
            {"n": 2},                              # prompt from the configuration, n from data
            {"prompt": "fourth"}]
    results = await req.run(data, log=log)
    assert len(results) == 4 and results.ok
    assert [r.request["prompt"] for r in results] == \
        ["first", "from the configuration", "from the configuration", "fourth"]
    sizes = [r.images[0].size for r in results]
    assert sizes == [(256, 256), (512, 512), (512, 512), (512, 512)]
    assert [len(r.images) for r in results] == [1, 1, 2, 1]
    # the configuration itself is untouched by the data
    assert (req.prompt, req.size, req.n) == ("from the configuration", "512x512", 1)
    assert [e.dataset for e in log] and sorted(e.dataset for e in log) == [0, 1, 2, 3]
    assert req.ids == [r.id for r in results]


async def test_dataframe_runs_against_the_emulator(conn):
    pd = pytest.importorskip("pandas")
    req = RequestImage(conn, name=uniq(), prompt="cfg", size="256x256", namespace={})
    df = pd.DataFrame({"prompt": ["red", "green", "blue"], "n": [1, 2, None]})
    results = await req.run(df, log=OperationLog())
    assert [len(r.images) for r in results] == [1, 2, 1]
    assert [r.request["prompt"] for r in results] == ["red", "green", "blue"]


async def test_unknown_field_is_refused_per_dataset(conn):
    log = OperationLog()
    req = RequestImage(conn, name=uniq(), prompt="cfg", size="256x256", continue_on_error=True,
                       namespace={})
    results = await req.run([{"prompt": "ok"}, {"promt": "typo"}], log=log)
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], ValidationError) and results[1].field == "promt"
    [err] = log.errors()
    assert err.dataset == 1 and err.code == "validation" and "promt" in err.message


async def test_download_image_datasets_ids_and_variables_win_over_the_id_field(conn):
    ns: dict = {}
    req = RequestImage(conn, name=uniq(), size="256x256", namespace=ns)
    ops = await req.run(["one", "two"], follow=False, log=OperationLog())
    ns["saved_ops"] = list(ops)
    dl = DownloadImage(conn, name=uniq(), image_id="not-a-real-id", namespace=ns)
    results = await dl.run([{"id": ops[1].id}, {"image_id": "[saved_ops][0]"}], log=OperationLog())
    assert [r.id for r in results] == [ops[1].id, ops[0].id]
    assert all(r.images for r in results)
    # no dataset: the ID field itself
    dl.image_id = ops[0].id
    [only] = await dl.run(log=OperationLog())
    assert only.id == ops[0].id
