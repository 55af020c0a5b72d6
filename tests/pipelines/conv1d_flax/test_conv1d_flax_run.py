"""End to end: `kedro run --pipelines=conv1d_flax` on a scratch copy and the bundled sample."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import Version

from agnews_pipeline.datasets import FlaxModelDataset, NumpyDataset
from tools.sandbox import copy_project, latest, run_kedro

pytestmark = pytest.mark.slow

APPROACHES = {"conv1d_single": 0.912, "conv1d_double": 0.899}
EPOCHS = 2
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TEST_ROWS = 1600


def _overrides() -> str:
    """Two epochs and a short LIME run per approach: this tests wiring, not accuracy."""
    return ",".join(
        f"conv1d_flax.{approach}.{key}"
        for approach in APPROACHES
        for key in (
            f"training.epochs={EPOCHS}",
            "training.progress_bar=false",
            "explanation.num_samples=200",
        )
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("conv1d_flax") / "project")
    result = run_kedro(
        project, "run", "--pipelines=conv1d_flax", "--params", _overrides()
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return project, result.stdout + result.stderr


def test_every_approach_trains_evaluates_and_explains(sample_run):
    project, output = sample_run
    data = project / "data"
    for approach, reference in APPROACHES.items():
        reporting = data / "08_reporting" / "conv1d_flax" / approach
        metrics = json.loads(latest(reporting / "metrics.json").read_text())
        assert metrics["backend"] == "flax"
        assert metrics["epochs"] == EPOCHS
        assert metrics["reference_test_accuracy"] == reference
        counts = metrics["confusion_matrix"]["counts"]
        assert sum(map(sum, counts)) == TEST_ROWS
        trace = sum(counts[i][i] for i in range(4))
        assert metrics["test_accuracy"] == pytest.approx(trace / TEST_ROWS)
        # Twelve Adam steps on 5,700 rows: above chance (25 %), far from converged.
        assert metrics["test_accuracy"] > 0.3
        for picture in ("confusion_matrix.png", "lime_explanation.png"):
            assert latest(reporting / picture).read_bytes().startswith(PNG_MAGIC)
        assert "lime" in latest(reporting / "lime_explanation.html").read_text().lower()
        predictions = pd.read_parquet(
            data / "07_model_output/conv1d_flax" / approach / "test_predictions.parquet"
        )
        assert len(predictions) == TEST_ROWS
        assert f"conv1d_flax.{approach}.train_model_node" in output
    # Only this family and what it needs ran: no other family's model appeared.
    assert {p.name for p in (data / "06_models").iterdir()} == {"conv1d_flax"}


def test_the_saved_model_reproduces_the_saved_predictions(sample_run):
    project, _ = sample_run
    data = project / "data"
    features = data / "04_feature" / "text_features"
    test = NumpyDataset(filepath=str(features / "keras_50" / "test.npz")).load()
    vocabulary = json.loads((features / "keras" / "vocabulary.json").read_text())
    for approach in APPROACHES:
        folder = data / "06_models" / "conv1d_flax" / approach / "model.msgpack"
        versions = list(folder.iterdir())
        assert len(versions) == 1 and (versions[0] / "model.msgpack").is_file()
        model = FlaxModelDataset(
            filepath=str(folder), version=Version(None, None)
        ).load()
        assert model.vocab_size == vocabulary["size"]
        predictions = pd.read_parquet(
            data / "07_model_output/conv1d_flax" / approach / "test_predictions.parquet"
        )
        probabilities = model.predict_proba(test["token_ids"], test["lengths"])
        np.testing.assert_array_equal(
            probabilities.argmax(axis=1), predictions["predicted"].to_numpy()
        )
