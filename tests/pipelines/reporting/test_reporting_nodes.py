"""The results table, its Markdown and charts, on hand-made metrics."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from agnews_pipeline.pipelines.reporting.nodes import (
    RESULTS_COLUMNS,
    accuracy_interval,
    build_results_table,
    plot_accuracy_chart,
    plot_confusion_grid,
    render_results_markdown,
)
from agnews_pipeline.pipelines.reporting.pipeline import create_pipeline, table_rows

FRAMEWORKS = {
    "glove_haiku": "JAX + Haiku",
    "rnn_torch": "PyTorch",
    "baselines": {"fasttext": "fastText"},
    "ensemble": "ensemble (weighted average)",
}
PARAMETERS = {
    "glove_haiku": {
        "mean": {"reference": {"test_accuracy": 0.889}},
        "sum": {"reference": {"test_accuracy": 0.881}},
    },
    "rnn_torch": {"rnn_50": {"reference": {"test_accuracy": 0.6}}},
    "unrelated": 3,
}
NODE_RESOURCES = {
    "nodes": {
        "glove_haiku.mean.train_model_node": {"seconds": 12.5, "peak_memory_mib": 900.0},
        "glove_haiku.mean.explain_article_node": {"seconds": 3.0, "peak_memory_mib": 950.5},
        "glove_haiku.meaning.train_model_node": {"seconds": 1.0, "peak_memory_mib": 5000.0},
        "split_train_validation_node": {"seconds": 0.5, "peak_memory_mib": 300.0},
    }
}
CONFUSION = {
    "labels": ["World", "Sports", "Business", "Sci/Tech"],
    "counts": [[9, 1, 0, 0], [0, 10, 0, 0], [0, 0, 8, 2], [0, 0, 1, 9]],
    "normalized": [[0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 0.8, 0.2], [0, 0, 0.1, 0.9]],
}
MEAN_METRICS = {
    "backend": "haiku",
    "test_accuracy": 0.9,
    "test_examples": 40,
    "best_validation_accuracy": 0.91,
    "validation_accuracy": 0.91,
    "epochs": 8,
    "train_seconds": 12.0,
    "seconds_per_epoch": 1.5,
    "tokenizer": "keras",
    "max_tokens": 50,
    "model": {"parameters": 20_000_516, "trainable_parameters": 516},
    "embedding": {
        "trainable": False,
        "dimension": 50,
        "glove": "glove.6B.50d",
        "requested_glove": "glove.840B.300d",
        "fallback": True,
        "token_coverage": 0.95,
    },
    "confusion_matrix": CONFUSION,
    "saved_version": "2026-11-23T12.00.00.000Z",
}
RNN_METRICS = {
    **MEAN_METRICS,
    "backend": "torch",
    "test_accuracy": 0.5,
    "tokenizer": "basic_english",
    "max_tokens": 25,
    "model": {"parameters": 1000, "trainable_parameters": 1000},
    "embedding": {"trainable": True, "dimension": 50, "glove": None},
    "history": {"recipe": {"recipe": "tutorial", "embedding_init": "glove"}},
}
ENSEMBLE_METRICS = {
    "backend": "ensemble",
    "test_accuracy": 0.95,
    "test_examples": 40,
    "validation_accuracy": 0.97,
    "best_validation_accuracy": 0.97,
    "weights": {"glove_haiku.mean": 0.5, "rnn_torch.rnn_50": 0.5},
    "model": {"parameters": 2, "trainable_parameters": None},
    "confusion_matrix": CONFUSION,
    "saved_version": "2026-11-23T13.00.00.000Z",
}


@pytest.fixture
def table() -> pd.DataFrame:
    return build_results_table(
        FRAMEWORKS,
        PARAMETERS,
        NODE_RESOURCES,
        glove_haiku__mean=MEAN_METRICS,
        glove_haiku__sum=None,
        rnn_torch__rnn_50=RNN_METRICS,
        baselines__fasttext={"status": "unavailable", "reason": "fasttext not installed"},
        ensemble__greedy_selection=ENSEMBLE_METRICS,
    )


def test_one_row_per_approach_in_the_given_order(table):
    assert list(table.columns) == list(RESULTS_COLUMNS)
    assert list(zip(table["family"], table["approach"], table["status"], strict=True)) == [
        ("glove_haiku", "mean", "trained"),
        ("glove_haiku", "sum", "missing"),
        ("rnn_torch", "rnn_50", "trained"),
        ("baselines", "fasttext", "unavailable"),
        ("ensemble", "greedy_selection", "trained"),
    ]


def test_trained_row_carries_what_the_metrics_say(table):
    row = table.iloc[0].to_dict()
    assert row["framework"] == "JAX + Haiku"
    assert (row["tokenizer"], row["max_tokens"]) == ("keras", 50)
    assert row["embedding"] == "frozen glove.6B.50d (fallback for glove.840B.300d)"
    assert (row["embedding_dimension"], row["embedding_coverage"]) == (50, 0.95)
    assert (row["parameters"], row["trainable_parameters"]) == (20_000_516, 516)
    assert row["test_accuracy"] == 0.9
    assert row["reference_accuracy"] == 0.889
    assert row["difference"] == pytest.approx(0.011)
    # The largest peak among the approach's own nodes, not "meaning"'s.
    assert row["peak_memory_mib"] == 950.5
    assert row["model_version"] == "2026-11-23T12.00.00.000Z"
    assert row["note"] == "GloVe fallback: glove.6B.50d instead of glove.840B.300d"
    assert table.iloc[2]["embedding"] == "trainable"
    assert table.iloc[3]["framework"] == "fastText"
    assert table.iloc[2]["difference"] == pytest.approx(-0.1)


def test_recipe_embedding_init_and_the_exact_interval(table):
    mean, rnn, ensemble = table.iloc[0], table.iloc[2], table.iloc[4]
    # No recipe recorded (trained before recipes existed): blank.
    assert pd.isna(mean["recipe"]) and pd.isna(mean["embedding_init"])
    assert (rnn["recipe"], rnn["embedding_init"]) == ("tutorial", "glove")
    assert (mean["test_accuracy_low"], mean["test_accuracy_high"]) == pytest.approx(
        accuracy_interval(0.9, 40)
    )
    assert mean["test_accuracy_low"] < 0.9 < mean["test_accuracy_high"]
    assert mean["validation_accuracy"] == 0.91
    assert ensemble["framework"] == "ensemble (weighted average)"
    assert pd.isna(ensemble["embedding"]) and pd.isna(ensemble["embedding_init"])
    assert ensemble["note"] == "weights: glove_haiku.mean 0.50, rnn_torch.rnn_50 0.50"
    assert math.isnan(table.iloc[1]["test_accuracy_low"])


def test_accuracy_interval_is_clopper_pearson():
    # Textbook values: 36 of 40 -> (0.7634, 0.9721); 0 of 10 -> (0, 0.3085).
    assert accuracy_interval(0.9, 40) == pytest.approx((0.76337, 0.97213), abs=1e-4)
    assert accuracy_interval(0.0, 10) == pytest.approx((0.0, 0.30850), abs=1e-4)


def test_untrained_rows_keep_their_reference_and_say_why(table):
    missing = table.iloc[1]
    assert missing["reference_accuracy"] == 0.881
    assert math.isnan(missing["test_accuracy"])
    assert missing["note"] == "not trained yet"
    assert table.iloc[3]["note"] == "fasttext not installed"


def test_bad_input_names_are_reported():
    with pytest.raises(ValueError, match="'glove_haiku_mean' is not named"):
        build_results_table(FRAMEWORKS, PARAMETERS, None, glove_haiku_mean=None)
    with pytest.raises(ValueError, match="no framework configured for cnn.x"):
        build_results_table(FRAMEWORKS, PARAMETERS, None, cnn__x=None)
    with pytest.raises(ValueError, match="no framework configured for baselines.svm"):
        build_results_table(FRAMEWORKS, PARAMETERS, None, baselines__svm=None)


def test_markdown_lists_rows_missing_approaches_and_slowest_nodes_first(table):
    markdown = render_results_markdown(table, NODE_RESOURCES)
    lines = markdown.splitlines()
    assert lines[0] == "# AG News: every approach side by side"
    assert "3 of 5 approaches have results." in markdown
    mean_row = next(line for line in lines if line.startswith("| glove_haiku | mean |"))
    cells = [cell.strip() for cell in mean_row.strip("|").split("|")]
    assert cells[3:12] == [
        "",
        "keras / 50",
        "frozen glove.6B.50d (fallback for glove.840B.300d), 50-d, 95.0 % tokens covered",
        "20,000,516 (516)",
        "8",
        "91.0",
        "90.0 % (76.3–97.2)",
        "88.9",
        "+1.1",
    ]
    rnn_row = next(line for line in lines if line.startswith("| rnn_torch | rnn_50 |"))
    cells = [cell.strip() for cell in rnn_row.strip("|").split("|")]
    assert cells[3] == "tutorial"
    assert cells[5] == "trainable, 50-d, glove init"
    assert "- glove_haiku.sum: missing (not trained yet)" in lines
    assert "- baselines.fasttext: unavailable (fasttext not installed)" in lines
    node_rows = [line for line in lines if line.startswith("| glove_haiku.") or line.startswith("| split_")]
    assert [row.split("|")[1].strip() for row in node_rows] == [
        "glove_haiku.mean.train_model_node",
        "glove_haiku.mean.explain_article_node",
        "glove_haiku.meaning.train_model_node",
        "split_train_validation_node",
    ]


def test_accuracy_chart_has_a_test_and_a_reference_bar_per_approach(table):
    figure = plot_accuracy_chart(table)
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    heights = [round(patch.get_height(), 6) for patch in axes.patches]
    assert heights == [90.0, 0.0, 50.0, 0.0, 95.0, 88.9, 88.1, 60.0, 0.0, 0.0]
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "mean", "sum", "rnn_50", "fasttext", "greedy_selection",
    ]  # fmt: skip
    texts = {text.get_text() for text in axes.texts}
    assert {"missing", "unavailable", "glove_haiku", "rnn_torch", "baselines"} <= texts


def test_confusion_grid_has_a_panel_per_trained_approach():
    figure = plot_confusion_grid(
        glove_haiku__mean=MEAN_METRICS, glove_haiku__sum=None, rnn_torch__rnn_50=RNN_METRICS
    )
    assert len(figure.axes) == 2
    assert figure.axes[0].get_title() == "glove_haiku\nmean: 90.0 %"
    assert "1 approaches without results" in figure.get_suptitle()
    cells = [text.get_text() for text in figure.axes[0].texts]
    assert cells[:4] == ["0.90", "0.10", "0.00", "0.00"]


def test_pipeline_reads_every_approach_metrics_and_the_hook_records():
    pipeline = create_pipeline()
    build = next(node for node in pipeline.nodes if node.name == "build_results_table_node")
    expected = {
        f"{family}.{approach}.metrics"
        for family, approaches in table_rows().items()
        for approach in approaches
    }
    assert len(expected) == 26
    assert expected | {"params:reporting.frameworks", "parameters", "node_resources"} == set(
        build.inputs
    )
    assert set(pipeline.all_outputs()) >= {
        "results_table",
        "results_markdown",
        "results_accuracy_chart",
        "results_confusion_grid",
        "baselines.tfidf_logreg.metrics",
        "baselines.fasttext.metrics",
        "baselines.char_tfidf_logreg.metrics",
        "baselines.tfidf_naive_bayes.metrics",
        "baselines.minilm_finetuned.metrics",
    }
