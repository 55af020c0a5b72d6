"""End to end: `kedro run --pipelines=rnn_torch` on a scratch copy and the bundled sample."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import Version

from agnews_pipeline.approaches import configured_approaches
from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.datasets import NumpyDataset, TorchModelDataset
from agnews_pipeline.pipelines.evaluation.nodes import probability_column
from tools.sandbox import copy_project, latest, run_kedro

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
APPROACHES = tuple(configured_approaches()["rnn_torch"])
TEST_ROWS = 1600
# Few epochs keep the run short; rnn_25 trains two so restore_best has a choice.
EPOCHS = {approach: 2 if approach == "rnn_25" else 1 for approach in APPROACHES}
# One torch thread: on a shared 2-core machine a second thread that gets descheduled
# stalls every small RNN step (runs up to 10x slower); see models.configure_threads.
ENV = {"OMP_NUM_THREADS": "1"}
PARAMS = ",".join(
    f"rnn_torch.{approach}.training.epochs={epochs}"
    for approach, epochs in EPOCHS.items()
)


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """`kedro run --pipelines=rnn_torch` once on the bundled sample, few epochs."""

    project = copy_project(tmp_path_factory.mktemp("rnn_torch") / "project")
    result = run_kedro(
        project, "run", "--pipelines=rnn_torch", "--params", PARAMS, env=ENV
    )
    _assert_ok(result)
    return project, result


def _metrics(project: Path, approach: str) -> dict:
    path = project / "data/08_reporting/rnn_torch" / approach / "metrics.json"
    return json.loads(latest(path).read_text())


def test_every_approach_runs_from_raw_csv_to_reports(sample_run):
    project, result = sample_run
    data = project / "data"
    completed = set(re.findall(r"Completed node: (\S+)", result.stdout + result.stderr))
    # Of the GloVe stage only the basic_english matrix the embeddings start from.
    glove_nodes = {n for n in completed if n.split(".")[0] in {"glove", "glove_haiku"}}
    assert glove_nodes == {"glove.basic_english_6b_50d.build_embedding_matrix_node"}
    for approach, epochs in EPOCHS.items():
        metrics = _metrics(project, approach)
        assert metrics["backend"] == "torch"
        assert metrics["epochs"] == epochs
        assert metrics["test_examples"] == TEST_ROWS
        counts = metrics["confusion_matrix"]["counts"]
        assert sum(map(sum, counts)) == TEST_ROWS
        trace = sum(counts[i][i] for i in range(4))
        assert metrics["test_accuracy"] == pytest.approx(trace / TEST_ROWS)
        assert set(metrics["reference"]) == {"test_accuracy"}
        reporting = data / "08_reporting/rnn_torch" / approach
        for picture in ("confusion_matrix.png", "lime_explanation.png"):
            assert latest(reporting / picture).read_bytes().startswith(PNG_MAGIC)
        assert "lime" in latest(reporting / "lime_explanation.html").read_text().lower()
        versions = list(
            (data / "06_models/rnn_torch" / approach / "model.pt").iterdir()
        )
        assert len(versions) == 1 and (versions[0] / "model.pt").is_file()
    reference = {"rnn_25": 0.8728, "birnn_3layer": 0.7484}
    for approach, accuracy in reference.items():
        assert _metrics(project, approach)["reference_test_accuracy"] == accuracy


@pytest.mark.parametrize(("approach", "tokens"), [("rnn_25", 25), ("birnn_3layer", 50)])
def test_saved_model_reproduces_the_saved_predictions(sample_run, approach, tokens):
    project, _ = sample_run
    data = project / "data"
    model = TorchModelDataset(
        filepath=str(data / "06_models/rnn_torch" / approach / "model.pt"),
        version=Version(None, None),
    ).load()
    features = NumpyDataset(
        filepath=str(data / f"04_feature/text_features/basic_english_{tokens}/test.npz")
    ).load()
    assert features["token_ids"].shape == (TEST_ROWS, tokens)
    predictions = pd.read_parquet(
        data / "07_model_output/rnn_torch" / approach / "test_predictions.parquet"
    )
    probabilities = model.predict_proba(features["token_ids"], features["lengths"])
    stored = predictions[[probability_column(name) for name in CLASS_NAMES]]
    np.testing.assert_array_equal(probabilities, stored.to_numpy())


def test_same_seed_gives_identical_metrics_on_a_rerun(sample_run):
    project, _ = sample_run
    first = _metrics(project, "rnn_25")
    for layer in ("06_models", "07_model_output", "08_reporting"):
        shutil.rmtree(project / "data" / layer / "rnn_torch" / "rnn_25")
    result = run_kedro(
        project,
        "run",
        "--pipelines=rnn_torch",
        "--namespaces=rnn_torch.rnn_25",
        "--params",
        PARAMS,
        env=ENV,
    )
    _assert_ok(result)
    again = _metrics(project, "rnn_25")
    for key in ("test_accuracy", "validation_accuracy", "confusion_matrix"):
        assert again[key] == first[key], key
    assert again["history"]["train_loss"] == first["history"]["train_loss"]
