"""The TF-IDF and fastText baselines on a tiny, separable data set."""

from __future__ import annotations

import pandas as pd
import pytest

from agnews_pipeline.pipelines.reporting import baselines
from agnews_pipeline.pipelines.reporting.baselines import (
    fasttext_available,
    train_fasttext_baseline,
    train_tfidf_baseline,
)

# One topic word per class, surrounded by shared filler words.
TOPICS = ("election", "football", "stocks", "software")


def _split(repeats: int, offset: int) -> pd.DataFrame:
    rows = [
        {"text": f"news item {offset + index} about {TOPICS[label]} today", "label": label}
        for index in range(repeats)
        for label in range(4)
    ]
    return pd.DataFrame(rows)


TRAIN, VALIDATION, TEST = _split(30, 0), _split(3, 1000), _split(5, 2000)


def test_tfidf_baseline_scores_the_test_split_in_the_metrics_schema():
    metrics = train_tfidf_baseline(TRAIN, VALIDATION, TEST, {"max_ngram": 2})
    assert metrics["backend"] == "scikit-learn"
    assert metrics["test_accuracy"] == 1.0
    assert metrics["validation_accuracy"] == 1.0
    assert metrics["test_examples"] == 20
    assert metrics["confusion_matrix"]["counts"] == [
        [5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5],
    ]  # fmt: skip
    assert metrics["tokenizer"] == "scikit-learn word 1-2-grams"
    vocabulary = metrics["embedding"]["features"]
    # (n-grams) x 4 classes + 4 intercepts.
    assert metrics["model"]["parameters"] == vocabulary * 4 + 4
    assert metrics["reference_test_accuracy"] is None


def test_tfidf_baseline_is_deterministic():
    first = train_tfidf_baseline(TRAIN, VALIDATION, TEST, {})
    again = train_tfidf_baseline(TRAIN, VALIDATION, TEST, {})
    assert first["classification_report"] == again["classification_report"]


def test_tfidf_options_reject_unknown_keys():
    with pytest.raises(ValueError, match="ngram_max"):
        train_tfidf_baseline(TRAIN, VALIDATION, TEST, {"ngram_max": 2})


@pytest.mark.skipif(not fasttext_available(), reason="fasttext is an optional extra")
def test_fasttext_baseline_learns_the_topics_deterministically():
    options = {"epoch": 25, "lr": 0.5, "dim": 8, "seed": 3}
    metrics = train_fasttext_baseline(TRAIN, VALIDATION, TEST, options)
    assert metrics["backend"] == "fasttext"
    assert metrics["test_accuracy"] == 1.0
    assert metrics["epochs"] == 25
    assert metrics["embedding"]["dimension"] == 8
    again = train_fasttext_baseline(TRAIN, VALIDATION, TEST, options)
    assert again["confusion_matrix"] == metrics["confusion_matrix"]


def test_fasttext_baseline_says_why_it_is_empty_without_the_package(monkeypatch):
    monkeypatch.setattr(baselines, "fasttext_available", lambda: False)
    metrics = train_fasttext_baseline(TRAIN, VALIDATION, TEST, {})
    assert metrics == {
        "status": "unavailable",
        "reason": "the optional package fasttext is not installed (pip install fasttext)",
    }
