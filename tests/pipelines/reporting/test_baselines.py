"""The TF-IDF, naive Bayes and fastText baselines on a tiny, separable data set."""

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
    train_naive_bayes_baseline,
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


CHARACTERS = {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4}


@pytest.mark.parametrize(
    ("train", "options", "tokenizer"),
    [
        (train_tfidf_baseline, CHARACTERS, "scikit-learn character 2-4-grams (within words)"),
        (train_naive_bayes_baseline, {"max_ngram": 2}, "scikit-learn word 1-2-grams"),
    ],
)
def test_character_and_naive_bayes_baselines_learn_the_topics(train, options, tokenizer):
    model = train(TRAIN, options)
    probabilities = model.predict_texts(TEST["text"].tolist())
    assert probabilities.shape == (20, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    metrics = _metrics(model)
    assert metrics["test_accuracy"] == 1.0
    assert metrics["tokenizer"] == tokenizer
    np.testing.assert_array_equal(train(TRAIN, options).predict_texts(TEST["text"].tolist()),
                                  probabilities)  # fmt: skip


def test_character_ngrams_count_the_characters_inside_words():
    words = train_tfidf_baseline(TRAIN, {})
    characters = train_tfidf_baseline(TRAIN, CHARACTERS)
    # char_wb pads each word with a space: "item" yields " it", "ite", "tem", "em ".
    assert characters.description["features"] > words.description["features"]
    vocabulary = characters.estimator.pipeline.steps[0][1].vocabulary_
    assert {" it", "ite", "tem", "em "} <= set(vocabulary)
    assert all(2 <= len(ngram) <= 4 for ngram in vocabulary)
    # (n-grams) x 4 classes + 4 intercepts.
    assert characters.parameters == len(vocabulary) * 4 + 4


def test_naive_bayes_smoothing_has_an_effect():
    texts = TEST["text"].tolist()
    sharp = train_naive_bayes_baseline(TRAIN, {"alpha": 0.01}).predict_texts(texts)
    smooth = train_naive_bayes_baseline(TRAIN, {"alpha": 10.0}).predict_texts(texts)
    # More smoothing pulls every probability towards the class prior (1/4 here).
    assert smooth.max(axis=1).max() < sharp.max(axis=1).min()
    model = train_naive_bayes_baseline(TRAIN, {"max_ngram": 1})
    # (words) x 4 classes + 4 class priors.
    assert model.parameters == model.description["features"] * 4 + 4


@pytest.mark.parametrize(
    ("train", "options", "message"),
    [
        (train_tfidf_baseline, {"min_ngram": 3, "max_ngram": 2},
         r"min_ngram \(3\) must not exceed max_ngram \(2\)"),
        (train_tfidf_baseline, {"analyzer": "char"}, "analyzer"),
        (train_naive_bayes_baseline, {"min_ngram": 4}, r"min_ngram \(4\) must not exceed"),
        (train_naive_bayes_baseline, {"alpha": 0}, "alpha"),
        (train_naive_bayes_baseline, {"C": 1.0}, "C"),
    ],
)  # fmt: skip
def test_bad_baseline_options_raise_a_clear_error(train, options, message):
    with pytest.raises(ValueError, match=message):
        train(TRAIN, options)


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
