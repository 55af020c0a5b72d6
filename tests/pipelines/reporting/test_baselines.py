"""The TF-IDF and fastText baselines on a tiny, separable data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agnews_pipeline.datasets import PickleModelDataset
from agnews_pipeline.pipelines.evaluation.nodes import prediction_probabilities
from agnews_pipeline.pipelines.reporting import baselines
from agnews_pipeline.pipelines.reporting.baselines import (
    evaluate_baseline,
    fasttext_available,
    predict_baseline_splits,
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


def _metrics(model) -> dict:
    validation, test = predict_baseline_splits(model, VALIDATION, TEST)
    return evaluate_baseline(model, validation, test)


def test_tfidf_baseline_scores_the_test_split_in_the_metrics_schema():
    metrics = _metrics(train_tfidf_baseline(TRAIN, {"max_ngram": 2}))
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


def test_baseline_predictions_have_the_evaluation_format_and_survive_a_save(tmp_path):
    model = train_tfidf_baseline(TRAIN, {})
    validation, test = predict_baseline_splits(model, VALIDATION, TEST)
    assert len(validation) == len(VALIDATION) and len(test) == len(TEST)
    assert list(test.columns) == [
        "row", "label", "label_name", "predicted", "predicted_name",
        "probability_world", "probability_sports", "probability_business",
        "probability_sci_tech",
    ]  # fmt: skip
    dataset = PickleModelDataset(filepath=str(tmp_path / "model.pkl"))
    dataset.save(model)
    again = dataset.load().predict_texts(TEST["text"].tolist())
    np.testing.assert_allclose(again, prediction_probabilities(test), rtol=1e-6)


def test_tfidf_baseline_is_deterministic():
    first = _metrics(train_tfidf_baseline(TRAIN, {}))
    again = _metrics(train_tfidf_baseline(TRAIN, {}))
    assert first["classification_report"] == again["classification_report"]


def test_tfidf_options_reject_unknown_keys():
    with pytest.raises(ValueError, match="ngram_max"):
        train_tfidf_baseline(TRAIN, {"ngram_max": 2})


@pytest.mark.skipif(not fasttext_available(), reason="fasttext is an optional extra")
def test_fasttext_baseline_learns_the_topics_deterministically(tmp_path):
    options = {"epoch": 25, "lr": 0.5, "dim": 8, "seed": 3, "minn": 3, "maxn": 5}
    model = train_fasttext_baseline(TRAIN, options)
    metrics = _metrics(model)
    assert metrics["backend"] == "fasttext"
    assert metrics["test_accuracy"] == 1.0
    assert metrics["epochs"] == 25
    assert metrics["embedding"]["dimension"] == 8
    assert "character 3-5-grams" in metrics["tokenizer"]
    again = _metrics(train_fasttext_baseline(TRAIN, options))
    assert again["confusion_matrix"] == metrics["confusion_matrix"]
    # Pickled as its .bin bytes, it predicts the same probabilities after a reload.
    dataset = PickleModelDataset(filepath=str(tmp_path / "model.pkl"))
    dataset.save(model)
    texts = TEST["text"].tolist()
    probabilities = dataset.load().predict_texts(texts)
    np.testing.assert_allclose(probabilities, model.predict_texts(texts))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_fasttext_baseline_says_why_it_is_empty_without_the_package(monkeypatch):
    monkeypatch.setattr(baselines, "fasttext_available", lambda: False)
    model = train_fasttext_baseline(TRAIN, {})
    validation, test = predict_baseline_splits(model, VALIDATION, TEST)
    assert validation.empty and test.empty
    assert evaluate_baseline(model, validation, test) == {
        "status": "unavailable",
        "reason": "the optional package fasttext is not installed (pip install fasttext)",
    }
