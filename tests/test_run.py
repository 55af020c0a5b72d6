"""End to end: the real CLI on a temporary copy of the project and its bundled sample."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tools.sandbox import PROJECT_ROOT, copy_project, latest, run_kedro

APPROACHES = ("flatten", "mean", "sum")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def _output(result) -> str:
    """Everything the CLI printed: rich logs go to stdout, progress bars to stderr."""
    return result.stdout + result.stderr


def _assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def _assert_approach_outputs(data_dir: Path, test_rows: int) -> None:
    for approach in APPROACHES:
        reporting = data_dir / "08_reporting" / "glove_haiku" / approach
        metrics = json.loads(latest(reporting / "metrics.json").read_text())
        for key in (
            "test_accuracy",
            "validation_accuracy",
            "classification_report",
            "confusion_matrix",
            "epochs",
            "train_seconds",
        ):
            assert key in metrics, f"{approach}: metrics.json lacks {key}"
        counts = metrics["confusion_matrix"]["counts"]
        assert sum(map(sum, counts)) == test_rows
        trace = sum(counts[i][i] for i in range(4))
        assert metrics["test_accuracy"] == pytest.approx(trace / test_rows)
        # The project recipe: up to its epochs, fewer when early stopping ends it.
        recipe = metrics["history"]["recipe"]
        assert recipe["recipe"] == "project"
        assert metrics["epochs"] == len(metrics["history"]["train_loss"])
        assert metrics["epochs"] == recipe["epochs"] or metrics["history"]["stopped_early"]
        for picture in ("confusion_matrix.png", "lime_explanation.png"):
            assert latest(reporting / picture).read_bytes().startswith(PNG_MAGIC)
        assert "lime" in latest(reporting / "lime_explanation.html").read_text().lower()
        predictions = pd.read_parquet(
            data_dir / "07_model_output" / "glove_haiku" / approach / "test_predictions.parquet"
        )
        assert len(predictions) == test_rows
        versions = list((data_dir / "06_models" / "glove_haiku" / approach / "model.npz").iterdir())
        assert len(versions) == 1 and (versions[0] / "model.npz").is_file()


@pytest.fixture(scope="module")
def sample_run(project_copy):
    """`kedro run --pipelines=glove_haiku` once on the bundled sample."""
    result = run_kedro(project_copy, "run", "--pipelines=glove_haiku")
    _assert_ok(result)
    return project_copy, result


def test_glove_haiku_runs_from_raw_csv_to_reports(sample_run):
    project, _ = sample_run
    _assert_approach_outputs(project / "data", test_rows=1600)
    metrics = json.loads(
        latest(project / "data/08_reporting/glove_haiku/mean/metrics.json").read_text()
    )
    # Four balanced classes: chance is 25 %; frozen mean GloVe is far better.
    assert metrics["test_accuracy"] > 0.6
    coverage = json.loads(
        (project / "data/04_feature/glove/keras_6b_50d/coverage.json").read_text()
    )
    assert coverage["dimension"] == 50
    assert 0.5 < coverage["token_coverage"] <= 1


def test_second_run_with_only_missing_outputs_skips_every_node(sample_run):
    project, _ = sample_run
    models = project / "data" / "06_models"
    before = sorted(p.relative_to(models) for p in models.rglob("*"))
    result = run_kedro(project, "run", "--pipelines=glove_haiku", "--only-missing-outputs")
    _assert_ok(result)
    assert re.search(r"Skipping all \d+ nodes \(all persistent outputs exist\)", _output(result))
    assert "Running node" not in _output(result)
    assert sorted(p.relative_to(models) for p in models.rglob("*")) == before


def test_only_missing_outputs_retrains_just_the_approach_whose_outputs_are_gone(sample_run):
    project, _ = sample_run
    metrics_file = project / "data/08_reporting/glove_haiku/sum/metrics.json"
    first = json.loads(latest(metrics_file).read_text())
    for layer in ("06_models", "07_model_output", "08_reporting"):
        shutil.rmtree(project / "data" / layer / "glove_haiku" / "sum")
    result = run_kedro(project, "run", "--pipelines=glove_haiku", "--only-missing-outputs")
    _assert_ok(result)
    completed = set(re.findall(r"Completed node: (\S+)", _output(result)))
    assert completed, _output(result)[-3000:]
    assert all(name.startswith("glove_haiku.sum.") for name in completed), completed
    assert "glove_haiku.sum.train_model_node" in completed
    # Same seed, same machine: the retrained approach reports the same numbers.
    again = json.loads(latest(metrics_file).read_text())
    for key in ("test_accuracy", "validation_accuracy", "confusion_matrix"):
        assert again[key] == first[key], key
    assert again["history"]["train_loss"] == first["history"]["train_loss"]


def test_kedro_viz_build_writes_the_graph(sample_run):
    project, _ = sample_run
    result = run_kedro(project, "viz", "build")
    _assert_ok(result)
    graph = json.loads((project / "build" / "api" / "main").read_text())
    node_names = {node["name"] for node in graph["nodes"]}
    assert "train_model_node" in {name.split(".")[-1] for name in node_names} or any(
        "train model" in name.lower() for name in node_names
    )
    assert {"raw", "primary", "feature", "models", "reporting"} <= set(graph["layers"])
    pipelines = {pipeline["id"] for pipeline in graph["pipelines"]}
    assert {"__default__", "glove_haiku", "ingestion", "text_features", "glove", "reporting"} <= pipelines


def _full_format_folder(folder: Path) -> dict[str, str]:
    """A small folder laid out like the release: train.csv and test.csv."""
    folder.mkdir()
    checksums = {}
    for name in ("train.csv", "test.csv"):
        source = PROJECT_ROOT / "data" / "01_raw" / "ag_news_sample" / name
        shutil.copy2(source, folder / name)
        checksums[name] = hashlib.md5(source.read_bytes()).hexdigest()
    return checksums


def test_full_environment_runs_on_files_from_a_configured_folder(tmp_path):
    project = copy_project(tmp_path / "project")
    checksums = _full_format_folder(tmp_path / "ag_news")
    # The folder is not the official release, so pin its own checksums in this copy.
    catalog = project / "conf" / "full" / "catalog.yml"
    text = catalog.read_text()
    text = text.replace("b1a00f826fdfbd249f79597b59e1dc12", checksums["train.csv"])
    text = text.replace("d52ea96a97a2d943681189a97654912d", checksums["test.csv"])
    catalog.write_text(text)
    result = run_kedro(
        project,
        "run",
        "--env=full",
        "--pipelines=glove_haiku",
        env={"AGNEWS_DATA_DIR": str(tmp_path / "ag_news")},
    )
    _assert_ok(result)
    _assert_approach_outputs(project / "data" / "full", test_rows=1600)
    assert not (project / "data" / "08_reporting" / "glove_haiku").exists()


def test_full_environment_without_the_files_says_where_and_how(tmp_path):
    project = copy_project(tmp_path / "project")
    missing = tmp_path / "no_such_folder"
    result = run_kedro(
        project,
        "run",
        "--env=full",
        "--pipelines=ingestion",
        env={"AGNEWS_DATA_DIR": str(missing)},
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + _output(result)).split())
    found = re.search(r"AG News file '(train|test)\.csv' not found", output)
    assert found, output[-3000:]
    assert f"looked for it at '{missing / found.group(1)}.csv'" in output
    assert "set AGNEWS_DATA_DIR=/folder/with/train.csv+test.csv" in output


def test_reporting_alone_lists_untrained_approaches_as_missing(sample_run, quick_baselines):
    project, _ = sample_run
    result = run_kedro(project, "run", "--pipelines=reporting", "--params", quick_baselines)
    _assert_ok(result)
    ran = set(re.findall(r"Completed node: (\S+)", _output(result)))
    assert not any("train_model_node" in name for name in ran), ran
    table = pd.read_csv(latest(project / "data/08_reporting/results.csv"))
    status = dict(zip(table["family"] + "." + table["approach"], table["status"], strict=True))
    assert len(status) == 26
    trained = {name for name, value in status.items() if value == "trained"}
    assert trained == {
        "glove_haiku.flatten",
        "glove_haiku.mean",
        "glove_haiku.sum",
        "baselines.tfidf_logreg",
        "baselines.fasttext",
        "baselines.char_tfidf_logreg",
        "baselines.tfidf_naive_bayes",
        "baselines.minilm_finetuned",
        # Refitted by reporting on what the catalog holds: the eight above.
        "ensemble.greedy_selection",
    }
    missing = table[table["status"] == "missing"]
    assert len(missing) == 17
    assert set(missing["note"]) == {"not trained yet"}
    assert missing["reference_accuracy"].notna().all()
    markdown = latest(project / "data/08_reporting/results.md").read_text()
    assert "9 of 26 approaches have results" in markdown
    assert "- rnn_torch.rnn_25: missing (not trained yet)" in markdown
