"""`kedro run` of everything on the sample: the report, reuse of the catalog, retraining one."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from agnews_pipeline.datasets import NodeRecordsDataset
from agnews_pipeline.pipeline_registry import register_pipelines
from agnews_pipeline.pipelines.reporting.pipeline import table_rows
from tools.sandbox import latest, run_kedro

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
APPROACH_COUNT = sum(len(approaches) for approaches in table_rows().values())


def _output(result) -> str:
    return result.stdout + result.stderr


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def _versions(project, relative: str) -> list[str]:
    return sorted(path.name for path in (project / "data" / relative).iterdir())


def test_the_run_ends_with_every_approach_in_the_results_table(default_run):
    reporting = default_run / "data" / "08_reporting"
    table = pd.read_csv(latest(reporting / "results.csv"))
    assert len(table) == APPROACH_COUNT == 26  # 20 approaches, 5 baselines, the ensemble
    assert set(table["status"]) == {"trained"}, table[["approach", "status", "note"]]
    assert list(zip(table["family"], table["approach"], strict=True)) == [
        (family, approach)
        for family, approaches in table_rows().items()
        for approach in approaches
    ]
    neural = table[~table["family"].isin({"baselines", "ensemble"})]
    assert (neural["epochs"] == 2).all()
    assert neural["reference_accuracy"].notna().all()
    assert (neural["parameters"] >= neural["trainable_parameters"]).all()
    assert neural["model_version"].notna().all()
    assert neural["peak_memory_mib"].gt(100).all()
    tfidf = table[table["approach"] == "tfidf_logreg"].iloc[0]
    # Word bigram TF-IDF is a strong baseline even on the small sample.
    assert tfidf["test_accuracy"] > 0.7
    for name in ("results_accuracy.png", "results_confusion_matrices.png"):
        assert latest(reporting / name).read_bytes().startswith(PNG_MAGIC)
    markdown = latest(reporting / "results.md").read_text()
    assert "26 of 26 approaches have results" in markdown
    ensemble = table[table["family"] == "ensemble"].iloc[0]
    assert ensemble["test_accuracy_low"] < ensemble["test_accuracy"] < ensemble[
        "test_accuracy_high"
    ]
    assert "| lstm_mxnet | bilstm_3layer | MXNet Gluon |" in markdown


def test_the_hook_recorded_every_node_of_the_run(default_run):
    records = NodeRecordsDataset(
        path=str(default_run / "data/08_reporting/node_resources")
    ).load()["nodes"]
    everything = {node.name for node in register_pipelines()["__default__"].nodes}
    assert set(records) == everything
    assert all(record["seconds"] >= 0 for record in records.values())
    assert {record["peak_memory_scope"] for record in records.values()} == {"node"}
    markdown = latest(default_run / "data/08_reporting/results.md").read_text()
    assert "## Node resources" in markdown


def test_a_rerun_with_only_missing_outputs_trains_nothing(default_run, quick_params):
    # The same parameters as the run: every artifact's provenance key matches.
    result = run_kedro(
        default_run, "run", "--only-missing-outputs", "--params", quick_params
    )
    _assert_ok(result)
    output = _output(result)
    assert re.search(r"Skipping all \d+ nodes \(all persistent outputs exist\)", output)
    assert re.findall(r"Completed node: (\S+)", output) == []


def test_a_changed_parameter_retrains_only_its_namespace(default_run):
    untouched = _versions(default_run, "06_models/glove_haiku/sum/model.npz")
    result = run_kedro(
        default_run,
        "run",
        "--namespaces=glove_haiku.mean",
        "--params=glove_haiku.mean.training.epochs=3",
    )
    _assert_ok(result)
    ran = set(re.findall(r"Completed node: (\S+)", _output(result)))
    assert ran, _output(result)[-3000:]
    assert all(name.startswith("glove_haiku.mean.") for name in ran), ran
    assert "glove_haiku.mean.train_model_node" in ran
    assert len(_versions(default_run, "06_models/glove_haiku/mean/model.npz")) == 2
    assert _versions(default_run, "06_models/glove_haiku/sum/model.npz") == untouched
    metrics = json.loads(
        latest(default_run / "data/08_reporting/glove_haiku/mean/metrics.json").read_text()
    )
    assert metrics["epochs"] == 3
