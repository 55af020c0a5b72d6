"""End to end: `kedro run --pipelines=lstm_mxnet` on a scratch copy with the sample."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import Version

from agnews_pipeline.datasets import MXNetModelDataset, NumpyDataset
from tools.sandbox import copy_project, latest, run_kedro

pytestmark = pytest.mark.slow

APPROACHES = {
    "lstm_25": "word_regex_25",
    "lstm_50": "word_regex_50",
    "bilstm": "word_regex_50",
    "lstm_3layer": "word_regex_50",
    "lstm_stacked": "word_regex_50",
    "bilstm_3layer": "word_regex_50",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TEST_ROWS = 1600


def _overrides() -> str:
    """One epoch and a short LIME run per approach: this tests wiring, not accuracy."""
    return ",".join(
        f"lstm_mxnet.{approach}.{key}"
        for approach in APPROACHES
        for key in ("training.epochs=1", "explanation.num_samples=100")
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("lstm_mxnet") / "project")
    result = run_kedro(
        project, "run", "--pipelines=lstm_mxnet", "--params", _overrides()
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return project, result.stdout + result.stderr


def test_every_approach_trains_evaluates_and_explains(sample_run):
    project, _ = sample_run
    data = project / "data"
    for approach in APPROACHES:
        reporting = data / "08_reporting" / "lstm_mxnet" / approach
        metrics = json.loads(latest(reporting / "metrics.json").read_text())
        assert metrics["backend"] == "mxnet"
        assert metrics["epochs"] == 1
        assert metrics["history"]["readout"] == "last_token"
        assert metrics["history"]["validated_on"] == "validation"
        counts = metrics["confusion_matrix"]["counts"]
        assert sum(map(sum, counts)) == TEST_ROWS
        trace = sum(counts[i][i] for i in range(4))
        assert metrics["test_accuracy"] == pytest.approx(trace / TEST_ROWS)
        assert metrics["reference_test_accuracy"] > 0.8
        for picture in ("confusion_matrix.png", "lime_explanation.png"):
            assert latest(reporting / picture).read_bytes().startswith(PNG_MAGIC)
        assert "lime" in latest(reporting / "lime_explanation.html").read_text().lower()
        summary = json.loads(latest(reporting / "lime_explanation.json").read_text())
        assert summary["num_samples"] == 100


def test_saved_models_reload_and_reproduce_the_test_predictions(sample_run):
    project, _ = sample_run
    data = project / "data"
    for approach, feature_set in APPROACHES.items():
        folder = data / "06_models" / "lstm_mxnet" / approach / "model.zip"
        versions = list(folder.iterdir())
        assert len(versions) == 1 and (versions[0] / "model.zip").is_file()
        model = MXNetModelDataset(
            filepath=str(folder), version=Version(None, None)
        ).load()
        assert model.config.readout == "last_token"
        features = NumpyDataset(
            filepath=str(
                data / "04_feature" / "text_features" / feature_set / "test.npz"
            )
        ).load()
        assert features["token_ids"].shape[1] == int(feature_set.rsplit("_", 1)[1])
        predictions = pd.read_parquet(
            data
            / "07_model_output"
            / "lstm_mxnet"
            / approach
            / "test_predictions.parquet"
        )
        probabilities = model.predict_proba(features["token_ids"], features["lengths"])
        stored = predictions.filter(like="probability_").to_numpy()
        np.testing.assert_allclose(probabilities, stored, rtol=1e-5, atol=1e-7)


def test_only_the_word_regex_features_are_built(sample_run):
    project, output = sample_run
    built = {
        path.name for path in (project / "data/04_feature/text_features").iterdir()
    }
    assert built == {"word_regex", "word_regex_25", "word_regex_50"}
    completed = set(re.findall(r"Completed node: (\S+)", output))
    assert {f"lstm_mxnet.{a}.train_model_node" for a in APPROACHES} <= completed
    # Of the GloVe stage only the word_regex matrix the embeddings start from.
    glove_nodes = {n for n in completed if n.startswith("glove")}
    assert glove_nodes == {"glove.word_regex_6b_50d.build_embedding_matrix_node"}
