"""LIME explanations through the text pipeline, and the explanation template."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.text import TextDataset
from matplotlib.figure import Figure
from pydantic import ValidationError

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.pipelines.explanation import create_pipeline, create_template
from agnews_pipeline.pipelines.explanation.nodes import (
    ExplanationOptions,
    explain_article,
)
from agnews_pipeline.pipelines.explanation.text_classifier import (
    TextPipelineClassifier,
)
from agnews_pipeline.pipelines.text_features.vocabulary import Vocabulary

VOCABULARY = Vocabulary(
    tokens=("<pad>", "football", "stocks", "team", "wins", "the", "rally"),
    unknown_token=None,
    tokenizer="keras",
).to_dict()
FOOTBALL, STOCKS = 1, 2
SPORTS, BUSINESS = 1, 2

TEST_SPLIT = pd.DataFrame(
    {
        "label": [2, 1],
        "title": ["Stocks", "Football"],
        "description": ["Stocks rally", "The team wins despite a stocks rally"],
        "text": [
            "Stocks rally",
            "Football: the team wins, despite a stocks rally",
        ],
    }
)
OPTIONS = {"article_index": 1, "seed": 7, "num_features": 5, "num_samples": 300}


class KeywordClassifier:
    """Leans to Sports when "football" is among the real tokens, Business for "stocks"."""

    backend = "fake"

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(token_ids))
        real = np.arange(token_ids.shape[1]) < lengths[:, None]
        scores = np.zeros((len(token_ids), 4))
        scores[:, SPORTS] += 4.0 * ((token_ids == FOOTBALL) & real).any(axis=1)
        scores[:, BUSINESS] += 2.0 * ((token_ids == STOCKS) & real).any(axis=1)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def test_predict_texts_tokenizes_encodes_and_batches():
    model = KeywordClassifier()
    classifier = TextPipelineClassifier(model, VOCABULARY, max_tokens=4)
    texts = ["FOOTBALL!", "stocks, stocks", "nothing known here"] * 1667 + ["x"]
    probabilities = classifier.predict_texts(texts)
    assert probabilities.shape == (5002, 4)
    assert probabilities.dtype == np.float32
    assert model.batch_sizes == [2048, 2048, 906]
    assert probabilities.argmax(axis=1)[:3].tolist() == [SPORTS, BUSINESS, 0]
    np.testing.assert_allclose(probabilities[:3], probabilities[3:6])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_predict_texts_cuts_at_max_tokens():
    classifier = TextPipelineClassifier(KeywordClassifier(), VOCABULARY, max_tokens=2)
    # "football" is the third known token, beyond max_tokens, so the model misses it.
    probabilities = classifier.predict_texts(["the team football"])
    assert probabilities.argmax() == 0


def test_important_word_comes_first_with_the_right_sign():
    html, figure, summary = explain_article(
        KeywordClassifier(), VOCABULARY, TEST_SPLIT, 50, OPTIONS
    )
    assert summary["article_index"] == 1
    assert summary["true_label"] == SPORTS
    assert summary["predicted_label"] == SPORTS
    assert summary["predicted_label_name"] == "Sports"
    assert list(summary["probabilities"]) == list(CLASS_NAMES)
    assert sum(summary["probabilities"].values()) == pytest.approx(1.0)
    weights = dict(summary["word_weights"])
    top_word, top_weight = summary["word_weights"][0]
    assert top_word == "Football"
    assert top_weight > 0.3
    assert weights["stocks"] < 0
    assert len(summary["word_weights"]) == OPTIONS["num_features"]
    json.dumps(summary)

    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_yticklabels()]
    # Most important word on top, i.e. last from the bottom.
    assert labels[-1] == "Football"
    assert "'Sports'" in axes.get_title()
    bar_colours = {
        label: patch.get_facecolor()[:3]
        for label, patch in zip(labels, axes.patches, strict=True)
    }
    assert bar_colours["Football"][1] > bar_colours["Football"][0]  # green
    assert bar_colours["stocks"][0] > bar_colours["stocks"][1]  # red

    assert html.startswith("<html>")
    assert "Football" in html
    # LIME inlines its JavaScript bundle: nothing is fetched over the network.
    assert re.search(r"""(src|href)=["']?(https?:)?//""", html) is None


def test_same_seed_gives_the_same_explanation():
    first = explain_article(KeywordClassifier(), VOCABULARY, TEST_SPLIT, 50, OPTIONS)
    second = explain_article(
        KeywordClassifier(), VOCABULARY, TEST_SPLIT, 50, ExplanationOptions(**OPTIONS)
    )
    assert first[0] == second[0]
    assert first[2] == second[2]


def test_article_index_beyond_the_test_split_names_the_key():
    options = {**OPTIONS, "article_index": 2}
    with pytest.raises(ValueError, match=r"explanation\.article_index is 2 .* 2 rows"):
        explain_article(KeywordClassifier(), VOCABULARY, TEST_SPLIT, 50, options)


@pytest.mark.parametrize(
    "change",
    [
        {"article_index": -1},
        {"num_features": 0},
        {"num_samples": 5},
        {"unknown_option": 1},
    ],
)
def test_options_are_validated(change):
    with pytest.raises(ValidationError):
        ExplanationOptions(**{**OPTIONS, **change})


def test_options_defaults():
    options = ExplanationOptions(article_index=0, seed=1)
    assert (options.num_features, options.num_samples) == (10, 1000)


def test_create_pipeline_is_empty_for_find_pipelines():
    assert create_pipeline().nodes == []


def test_namespaced_template_runs_with_real_datasets(tmp_path):
    pipeline = Pipeline(
        create_template(),
        namespace="fam.appr",
        inputs={
            "ag_news_test": "ag_news_test",
            "vocabulary": "keras_vocabulary",
        },
        parameters={"params:max_tokens": "params:max_tokens"},
    )
    assert pipeline.inputs() == {
        "fam.appr.trained_model",
        "keras_vocabulary",
        "ag_news_test",
        "params:max_tokens",
        "params:fam.appr.explanation",
    }
    catalog = DataCatalog(
        {
            "fam.appr.trained_model": MemoryDataset(KeywordClassifier()),
            "keras_vocabulary": MemoryDataset(VOCABULARY),
            "ag_news_test": MemoryDataset(TEST_SPLIT),
            "params:max_tokens": MemoryDataset(50),
            "params:fam.appr.explanation": MemoryDataset(OPTIONS),
            "fam.appr.lime_explanation_html": TextDataset(
                filepath=str(tmp_path / "lime_explanation.html")
            ),
            "fam.appr.lime_explanation_plot": MatplotlibDataset(
                filepath=str(tmp_path / "lime_explanation.png")
            ),
        }
    )
    outputs = SequentialRunner().run(pipeline, catalog)

    summary = outputs["fam.appr.lime_explanation_summary"].load()
    assert summary["word_weights"][0][0] == "Football"
    html = (tmp_path / "lime_explanation.html").read_text()
    assert "Football" in html
    assert (tmp_path / "lime_explanation.png").stat().st_size > 0
