"""End to end: `kedro run --pipelines=batch_predict` with a model trained by the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io.core import Version
from kedro_datasets.pandas import CSVDataset

from agnews_pipeline.datasets import HaikuModelDataset
from agnews_pipeline.pipelines.explanation.text_classifier import TextPipelineClassifier
from tools.sandbox import copy_project, run_kedro

pytestmark = pytest.mark.slow

PROBABILITIES = [
    "probability_world",
    "probability_sports",
    "probability_business",
    "probability_sci_tech",
]
GOOD_1 = (
    "id,title,description\n"
    'n1,Stocks rally,"Wall Street shares rose after strong earnings, traders said."\n'
    "n2,Cup final,The striker scored twice as the team won the championship.\n"
)
BAD_2 = (
    '{"id": "j1", "text": "NASA launches a new weather satellite"}\n'
    '{"id": "j2", "text": "Oil prices fall as markets slump"}\n'
    '{"id": "j3", "text": broken}\n'
)
GOOD_2 = BAD_2.replace("broken", '"Leaders meet to discuss the peace plan"')
GOOD_3 = (
    '{"id": 301, "title": "Chip maker", "description": "A faster processor ships."}\n'
)
BAD_2_REASON = (
    "batch-002.jsonl, line 3: invalid JSON (Expecting value at column 22); "
    "expected one JSON object per line"
)


def _output(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def _register_in_sandbox(project: Path) -> None:
    """Register batch_predict in the copy only, unless the project already does."""
    registry = project / "src" / "agnews_pipeline" / "pipeline_registry.py"
    text = registry.read_text()
    if '"batch_predict"' in text:
        return
    end = text.rindex("    return pipelines")
    registry.write_text(
        text[:end]
        + "    from agnews_pipeline.pipelines import batch_predict  # noqa: PLC0415\n"
        + '    pipelines["batch_predict"] = batch_predict.create_pipeline()\n'
        + text[end:]
    )


def _catalogue_results_table(project: Path) -> None:
    """Catalogue results_table in the copy only, until the reporting pipeline does."""
    base = project / "conf" / "base"
    for path in base.glob("catalog*.yml"):
        if "results_table" in (yaml.safe_load(path.read_text()) or {}):
            return
    (base / "catalog_results_table_stub.yml").write_text(
        "results_table:\n"
        "  type: pandas.CSVDataset\n"
        "  filepath: ${globals:data_dir}/08_reporting/results.csv\n"
        "  versioned: true\n"
        "  save_args: {index: false}\n"
    )


def _write_results_table(project: Path, version: str) -> None:
    rows = [
        ("glove_haiku", "mean", "trained", "haiku", "keras", 50, 0.6, 0.62, version),
        ("glove_haiku", "sum", "missing", "haiku", "keras", 50, None, None, None),
        ("glove_haiku", "flatten", "missing", "haiku", "keras", 50, None, None, None),
        (
            "baselines",
            "tfidf_logreg",
            "trained",
            "scikit-learn",
            None,
            None,
            0.9,
            0.88,
            None,
        ),
    ]
    columns = [
        "family",
        "approach",
        "status",
        "framework",
        "tokenizer",
        "max_tokens",
        "validation_accuracy",
        "test_accuracy",
        "model_version",
    ]
    CSVDataset(
        filepath=str(project / "data" / "08_reporting" / "results.csv"),
        version=Version(None, None),
        save_args={"index": False},
    ).save(pd.DataFrame(rows, columns=columns))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy with glove_haiku.mean trained for one epoch and a results table."""
    project = copy_project(tmp_path_factory.mktemp("batch_predict") / "project")
    _register_in_sandbox(project)
    _catalogue_results_table(project)
    result = run_kedro(
        project,
        "run",
        "--pipelines=glove_haiku",
        "--to-nodes=glove_haiku.mean.train_model_node",
        "--params=glove_haiku.mean.training.epochs=1",
    )
    _assert_ok(result)
    (version,) = [
        path.name
        for path in (project / "data/06_models/glove_haiku/mean/model.npz").iterdir()
    ]
    _write_results_table(project, version)
    (project / "data" / "01_raw" / "incoming").mkdir(parents=True)
    return project, version


def _drop(project: Path, name: str, content: str) -> None:
    (project / "data" / "01_raw" / "incoming" / name).write_text(content)


def _outputs(project: Path) -> dict[str, tuple[int, int]]:
    folder = project / "data" / "07_model_output" / "batch"
    return {
        path.name: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(folder.iterdir())
    }


def _predictions(project: Path, partition: str) -> pd.DataFrame:
    return pd.read_csv(
        project / "data/07_model_output/batch" / f"{partition}.predictions.csv",
        dtype={"id": str},
    )


def _expected_probabilities(project: Path, version: str, texts: list[str]):
    model = HaikuModelDataset(
        filepath=str(project / "data/06_models/glove_haiku/mean/model.npz"),
        version=Version(version, None),
    ).load()
    vocabulary = json.loads(
        (project / "data/04_feature/text_features/keras/vocabulary.json").read_text()
    )
    return TextPipelineClassifier(model, vocabulary, 50).predict_texts(texts)


def _rejected(project: Path) -> dict:
    return json.loads(
        (project / "data/07_model_output/batch_rejected.json").read_text()
    )


def test_a_named_model_that_is_not_trained_stops_the_run_with_the_reason(project):
    project, _ = project
    result = run_kedro(
        project,
        "run",
        "--pipelines=batch_predict",
        "--params=batch_predict.model=glove_haiku.sum",
    )
    assert result.returncode != 0
    assert (
        "batch_predict.model is 'glove_haiku.sum', whose status in the results table "
        "is 'missing', not 'trained'" in _output(result)
    )
    assert not (project / "data/07_model_output/batch").exists()


def test_new_partitions_are_scored_once_and_a_bad_one_once_fixed(project):
    project, version = project
    _drop(project, "batch-001.csv", GOOD_1)
    _drop(project, "batch-002.jsonl", BAD_2)
    _drop(project, "batch-003.jsonl", GOOD_3)

    result = run_kedro(project, "run", "--pipelines=batch_predict")
    _assert_ok(result)
    assert list(_outputs(project)) == [
        "batch-001.csv.predictions.csv",
        "batch-003.jsonl.predictions.csv",
    ]
    assert f"Not scored, kept to retry once fixed: {BAD_2_REASON}" in _output(result)
    first = _predictions(project, "batch-001.csv")
    assert first["id"].tolist() == ["n1", "n2"]
    expected = _expected_probabilities(
        project,
        version,
        [
            "Stocks rally Wall Street shares rose after strong earnings, traders said.",
            "Cup final The striker scored twice as the team won the championship.",
        ],
    )
    np.testing.assert_allclose(first[PROBABILITIES].to_numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(first[PROBABILITIES].sum(axis=1), 1.0, atol=1e-5)
    assert first["predicted_label"].tolist() == expected.argmax(axis=1).tolist()
    assert set(first["family"]) == {"glove_haiku"}
    assert set(first["approach"]) == {"mean"}
    assert set(first["model_version"]) == {version}
    assert set(first["partition"]) == {"batch-001.csv"}
    third = _predictions(project, "batch-003.jsonl")
    assert (third["id"].tolist(), third["partition"].tolist()) == (
        ["301"],
        ["batch-003.jsonl"],
    )
    assert _rejected(project) == {"batch-002.jsonl": BAD_2_REASON}
    serving = json.loads(
        (project / "data/07_model_output/batch_serving_model.json").read_text()
    )
    assert serving["model"] == "glove_haiku.mean"  # not the baseline's 0.88
    assert serving["model_version"] == version

    # Run again: nothing is scored or written again.
    before = _outputs(project)
    result = run_kedro(project, "run", "--pipelines=batch_predict")
    _assert_ok(result)
    assert _outputs(project) == before
    assert not re.search(r"Scored \d+ partition", _output(result))
    assert BAD_2_REASON in _output(result)

    # A new partition: only it is scored.
    _drop(project, "batch-004.csv", "id,text\nz9,Markets rally as oil prices ease\n")
    result = run_kedro(project, "run", "--pipelines=batch_predict")
    _assert_ok(result)
    after = _outputs(project)
    assert {name: after[name] for name in before} == before
    assert sorted(set(after) - set(before)) == ["batch-004.csv.predictions.csv"]
    assert "Scored 1 partition(s), 1 article(s)" in _output(result)

    # The bad one fixed in place: scored on the next run, and nothing else.
    _drop(project, "batch-002.jsonl", GOOD_2)
    result = run_kedro(project, "run", "--pipelines=batch_predict")
    _assert_ok(result)
    fixed = _outputs(project)
    assert {name: fixed[name] for name in after} == after
    assert _predictions(project, "batch-002.jsonl")["id"].tolist() == ["j1", "j2", "j3"]
    assert _rejected(project) == {}
    assert "Scored 1 partition(s), 3 article(s)" in _output(result)


def test_the_full_environment_keeps_to_its_own_folders(project):
    project, version = project
    data, full = project / "data", project / "data" / "full"
    for layer in ("04_feature/text_features/keras", "06_models", "08_reporting"):
        shutil.copytree(data / layer, full / layer)
    (full / "01_raw" / "incoming").mkdir(parents=True)
    (full / "01_raw" / "incoming" / "f.csv").write_text("id,text\nf1,Shares rise\n")
    sample_outputs = sorted((data / "07_model_output").rglob("*"))
    assert not (full / "07_model_output").exists()

    result = run_kedro(project, "run", "--env=full", "--pipelines=batch_predict")
    _assert_ok(result)
    scored = pd.read_csv(
        full / "07_model_output/batch/f.csv.predictions.csv", dtype={"id": str}
    )
    assert (scored["id"].tolist(), scored["model_version"].tolist()) == (
        ["f1"],
        [version],
    )
    assert (full / "01_raw/incoming/CHECKPOINT").read_text() == "f.csv"
    # The sample's outputs are untouched.
    assert sorted((data / "07_model_output").rglob("*")) == sample_outputs


def test_the_reporting_pipelines_table_chooses_the_served_model(tmp_path):
    """The contract with the reporting pipeline: its table, its versions."""
    project = copy_project(tmp_path / "project")
    registry = project / "src/agnews_pipeline/pipeline_registry.py"
    if '"reporting"' not in registry.read_text():
        pytest.skip("the reporting pipeline is not registered yet")
    _register_in_sandbox(project)
    one_epoch = ",".join(
        f"glove_haiku.{approach}.training.epochs=1"
        for approach in ("flatten", "mean", "sum")
    )
    for args in (
        ("--pipelines=glove_haiku", f"--params={one_epoch}"),
        ("--pipelines=reporting",),
    ):
        _assert_ok(run_kedro(project, "run", *args))
    (table_path,) = (project / "data/08_reporting/results.csv").glob("*/results.csv")
    table = pd.read_csv(table_path)
    haiku = table[(table["family"] == "glove_haiku") & (table["status"] == "trained")]
    # Chosen on validation (ties: the alphabetically first), never on test.
    best = haiku.sort_values(
        ["validation_accuracy", "approach"], ascending=[False, True]
    ).iloc[0]
    (project / "data/01_raw/incoming").mkdir(parents=True)
    _drop(project, "feed.csv", GOOD_1)

    _assert_ok(run_kedro(project, "run", "--pipelines=batch_predict"))
    scored = _predictions(project, "feed.csv")
    assert set(scored["approach"]) == {best["approach"]}
    (version,) = [
        path.name
        for path in (
            project / f"data/06_models/glove_haiku/{best['approach']}/model.npz"
        ).iterdir()
    ]
    assert set(scored["model_version"]) == {version}
