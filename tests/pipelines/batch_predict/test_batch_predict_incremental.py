"""The pipeline on the project's own catalog entries, run in process run after run.

Each run gets a fresh catalog from ``conf/base/catalog_batch_predict.yml`` (pointed at
a temporary data folder), as each ``kedro run`` would, and a tiny real model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from batch_predict_helpers import HAIKU_FAMILIES, OLD, VOCABULARY, results_table
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from agnews_pipeline.datasets import (
    AtomicCSVDataset,
    OptionalPartitionedDataset,
)
from agnews_pipeline.pipelines.batch_predict import create_pipeline
from tools.sandbox import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "conf" / "base" / "catalog_batch_predict.yml"
PROBABILITIES = [
    "probability_world",
    "probability_sports",
    "probability_business",
    "probability_sci_tech",
]
GOOD_1 = "id,title,description\n1,Stocks rally,oil cup\n2,Team wins,the cup\n"
BAD_2 = '{"id": "a", "text": "cup"}\n{"id": "b", "text": "cup"\n'
GOOD_2 = '{"id": "a", "text": "cup"}\n{"id": "b", "text": "oil"}\n'
GOOD_3 = '{"id": 30, "text": "stocks"}\n'
BAD_2_REASON = (
    "batch-002.jsonl, line 2: invalid JSON (Expecting ',' delimiter at column 26); "
    "expected one JSON object per line"
)


def _catalog_config(data_dir: Path) -> dict:
    text = CATALOG.read_text().replace("${globals:data_dir}", str(data_dir))
    config = yaml.safe_load(text)
    config["trained_models"]["families"] = HAIKU_FAMILIES
    config["results_table"] = {
        "type": "pandas.CSVDataset",
        "filepath": str(data_dir / "08_reporting" / "results.csv"),
    }
    # Defined in catalog_06_models_ensemble.yml; no ensemble is fitted here.
    config["ensemble.greedy_selection.combination"] = {
        "type": "agnews_pipeline.datasets.JSONReportDataset",
        "filepath": str(data_dir / "06_models" / "ensemble" / "combination.json"),
        "missing_ok": True,
    }
    return config


@pytest.fixture
def data_dir(tmp_path, models_dir) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(models_dir, data_dir / "06_models")
    vocabulary = data_dir / "04_feature" / "text_features" / "keras" / "vocabulary.json"
    vocabulary.parent.mkdir(parents=True)
    vocabulary.write_text(json.dumps(VOCABULARY))
    (data_dir / "08_reporting").mkdir()
    results_table().to_csv(data_dir / "08_reporting" / "results.csv", index=False)
    (data_dir / "01_raw" / "incoming").mkdir(parents=True)
    return data_dir


def _drop(data_dir: Path, name: str, content: str | bytes) -> None:
    path = data_dir / "01_raw" / "incoming" / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)


def _run(data_dir: Path, model: str = "best") -> None:
    catalog = DataCatalog.from_config(_catalog_config(data_dir))
    catalog["params:batch_predict"] = {"model": model}
    SequentialRunner().run(create_pipeline(), catalog, _create_hook_manager())


def _outputs(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Each predictions file with its inode and mtime: a rewrite changes them."""
    folder = data_dir / "07_model_output" / "batch"
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _predictions(data_dir: Path, partition: str) -> pd.DataFrame:
    path = data_dir / "07_model_output" / "batch" / f"{partition}.predictions.csv"
    return pd.read_csv(path, dtype={"id": str})


def _state(data_dir: Path) -> tuple[str, dict]:
    checkpoint = (data_dir / "01_raw" / "incoming" / "CHECKPOINT").read_text()
    rejected = json.loads(
        (data_dir / "07_model_output" / "batch_rejected.json").read_text()
    )
    return checkpoint, rejected


def test_partitions_are_scored_once_and_a_bad_one_when_fixed(data_dir, caplog):
    _drop(data_dir, "batch-001.csv", GOOD_1)
    _drop(data_dir, "batch-002.jsonl", BAD_2)
    _drop(data_dir, "batch-003.jsonl", GOOD_3)
    _run(data_dir)
    assert list(_outputs(data_dir)) == [
        "batch-001.csv.predictions.csv",
        "batch-003.jsonl.predictions.csv",
    ]
    first = _predictions(data_dir, "batch-001.csv")
    assert first["id"].tolist() == ["1", "2"]
    assert set(first["model_version"]) == {OLD}
    np.testing.assert_allclose(first[PROBABILITIES].sum(axis=1), 1.0, atol=1e-6)
    assert _predictions(data_dir, "batch-003.jsonl")["id"].tolist() == ["30"]
    assert _state(data_dir) == ("batch-003.jsonl", {"batch-002.jsonl": BAD_2_REASON})
    assert BAD_2_REASON in caplog.text
    serving = json.loads(
        (data_dir / "07_model_output" / "batch_serving_model.json").read_text()
    )
    assert (serving["model"], serving["model_version"]) == ("glove_haiku.mean", OLD)

    # Nothing new: no file is written again; the bad one is still reported.
    before = _outputs(data_dir)
    caplog.clear()
    _run(data_dir)
    assert _outputs(data_dir) == before
    assert BAD_2_REASON in caplog.text
    assert _state(data_dir) == ("batch-003.jsonl", {"batch-002.jsonl": BAD_2_REASON})

    # A new partition: only it is scored.
    _drop(data_dir, "batch-004.csv", "id,text\nx,team wins\n")
    _run(data_dir)
    after = _outputs(data_dir)
    assert {name: after[name] for name in before} == before
    assert sorted(set(after) - set(before)) == ["batch-004.csv.predictions.csv"]
    assert _state(data_dir) == ("batch-004.csv", {"batch-002.jsonl": BAD_2_REASON})

    # The bad one fixed in place (the checkpoint is past it): scored next run.
    _drop(data_dir, "batch-002.jsonl", GOOD_2)
    _run(data_dir)
    fixed = _outputs(data_dir)
    assert {name: fixed[name] for name in after} == after
    assert _predictions(data_dir, "batch-002.jsonl")["id"].tolist() == ["a", "b"]
    assert _state(data_dir) == ("batch-004.csv", {})


def test_bytes_that_are_not_utf8_are_reported_without_stopping_the_others(data_dir):
    _drop(data_dir, "a.csv", b"id,text\n1,caf\xc3\xa9 stocks\n2,na\xefve\n")
    _drop(data_dir, "b.csv", "id,text\n1,caf\u00e9 oil\n")
    _run(data_dir)
    assert list(_outputs(data_dir)) == ["b.csv.predictions.csv"]
    assert _state(data_dir) == (
        "b.csv",
        {"a.csv": "a.csv, line 3: byte 0xef is not valid UTF-8; expected UTF-8 text"},
    )


def test_sub_folders_and_dot_files(data_dir):
    (data_dir / "01_raw" / "incoming" / "2026" / "01").mkdir(parents=True)
    _drop(data_dir, "2026/01/feed.jsonl", GOOD_3)
    _drop(data_dir, ".gitkeep", "")
    _drop(data_dir, "2026/01/.feed2.csv.part", "id,te")
    _run(data_dir)
    assert list(_outputs(data_dir)) == ["2026/01/feed.jsonl.predictions.csv"]
    scored = _predictions(data_dir, "2026/01/feed.jsonl")
    assert scored["partition"].tolist() == ["2026/01/feed.jsonl"]
    assert _state(data_dir) == ("2026/01/feed.jsonl", {})


def test_the_checkpoint_moves_only_once_the_outputs_are_saved(data_dir):
    _drop(data_dir, "a.csv", GOOD_1)
    _run(data_dir)
    _drop(data_dir, "b.csv", "id,text\nb1,oil\n")
    # The output folder cannot be created: saving fails after scoring.
    blocker = data_dir / "07_model_output" / "batch"
    before = _outputs(data_dir)
    moved = blocker.rename(data_dir / "07_model_output" / "moved")
    blocker.write_text("not a folder")
    with pytest.raises(Exception, match="b.csv"):
        _run(data_dir)
    assert _state(data_dir)[0] == "a.csv"
    blocker.unlink()
    moved.rename(blocker)
    assert _outputs(data_dir) == before
    _run(data_dir)
    assert sorted(_outputs(data_dir)) == [
        "a.csv.predictions.csv",
        "b.csv.predictions.csv",
    ]
    assert _state(data_dir) == ("b.csv", {})


def test_a_named_model_that_cannot_serve_stops_before_anything_is_read(data_dir):
    _drop(data_dir, "a.csv", GOOD_1)
    with pytest.raises(ValueError, match="'glove_haiku.flatten', whose status"):
        _run(data_dir, model="glove_haiku.flatten")
    assert not (data_dir / "01_raw" / "incoming" / "CHECKPOINT").exists()
    _run(data_dir, model="glove_haiku.sum")
    assert set(_predictions(data_dir, "a.csv")["approach"]) == {"sum"}


# --- the two dataset classes ----------------------------------------------------


def test_an_empty_or_missing_folder_loads_as_no_partitions(tmp_path):
    assert (
        OptionalPartitionedDataset(
            path=str(tmp_path / "absent"), dataset="text.TextDataset"
        ).load()
        == {}
    )
    (tmp_path / "empty").mkdir()
    assert (
        OptionalPartitionedDataset(
            path=str(tmp_path / "empty"), dataset="text.TextDataset"
        ).load()
        == {}
    )


def test_partitions_are_listed_without_being_read(tmp_path):
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("y")
    loaded = OptionalPartitionedDataset(
        path=str(tmp_path), dataset="text.TextDataset"
    ).load()
    assert sorted(loaded) == ["a.csv", "sub/b.jsonl"]
    (tmp_path / "a.csv").write_text("changed after listing")
    assert loaded["a.csv"]() == "changed after listing"


def test_a_failed_csv_save_leaves_the_previous_file_and_no_partial(tmp_path):
    path = tmp_path / "p.predictions.csv"
    dataset = AtomicCSVDataset(filepath=str(path))
    dataset.save(pd.DataFrame({"id": ["007"], "p": [0.5]}))
    assert path.read_text() == "id,p\n007,0.5\n"

    class Unwritable(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(Exception, match="disk full"):
        dataset.save(Unwritable({"id": ["1"]}))
    assert path.read_text() == "id,p\n007,0.5\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.predictions.csv"]
    assert AtomicCSVDataset(
        filepath=str(path), load_args={"dtype": {"id": str}}
    ).load()["id"].tolist() == ["007"]
