"""JSONReportDataset: atomic, optionally versioned, optionally missing."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError, Version

from agnews_pipeline.datasets import JSONReportDataset


def test_missing_ok_loads_none_until_saved(tmp_path):
    dataset = JSONReportDataset(filepath=str(tmp_path / "m.json"), missing_ok=True)
    assert dataset.load() is None
    assert not dataset.exists()
    dataset.save({"a": 1})
    assert dataset.load() == {"a": 1}


def test_without_missing_ok_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no file at"):
        JSONReportDataset(filepath=str(tmp_path / "m.json")).load()


def test_versioned_load_names_its_version_and_save_drops_it(tmp_path):
    path = str(tmp_path / "metrics.json")
    first = JSONReportDataset(
        filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z"), version_key="saved_version"
    )
    first.save({"accuracy": 0.5})
    second = JSONReportDataset(
        filepath=path, version=Version(None, "2026-01-02T00.00.00.000Z"), version_key="saved_version"
    )
    second.save({"accuracy": 0.75, "saved_version": "stale"})
    latest = JSONReportDataset(filepath=path, version=Version(None, None), version_key="saved_version")
    assert latest.load() == {"accuracy": 0.75, "saved_version": "2026-01-02T00.00.00.000Z"}
    stored = tmp_path / "metrics.json" / "2026-01-02T00.00.00.000Z" / "metrics.json"
    assert stored.read_text() == '{\n  "accuracy": 0.75\n}\n'


def test_a_failed_save_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    dataset = JSONReportDataset(filepath=str(tmp_path / "m.json"))
    dataset.save({"a": 1})
    with pytest.raises(DatasetError, match="cannot store the data as JSON"):
        dataset.save({"a": object()})
    with pytest.raises(DatasetError, match="cannot store the data as JSON"):
        dataset.save({"a": float("nan")})
    assert dataset.load() == {"a": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["m.json"]


def test_invalid_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{\n  "a": 1,\n  oops\n}\n')
    with pytest.raises(DatasetError, match=r"m.json' is not valid JSON: .* at line 3"):
        JSONReportDataset(filepath=str(path)).load()
