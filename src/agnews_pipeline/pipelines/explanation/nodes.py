"""Nodes of the ``explanation`` template: LIME over any backend's probabilities."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import CLASS_NAMES, TokenClassifier

from .text_classifier import TextPipelineClassifier

logger = logging.getLogger(__name__)

_POSITIVE_COLOUR = "#2ca02c"
_NEGATIVE_COLOUR = "#d62728"


class ExplanationOptions(BaseModel):
    """The ``explanation`` parameter block of an approach.

    Attributes:
        article_index: Row (position) of the test split to explain.
        seed: Seeds LIME's sampling of perturbed texts, so reruns match.
        num_features: Words kept in the explanation.
        num_samples: Perturbed texts LIME scores to fit its local model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    article_index: int = Field(ge=0)
    seed: int
    num_features: int = Field(10, ge=1)
    num_samples: int = Field(1000, ge=10)


def _plot_word_weights(
    word_weights: list[tuple[str, float]], predicted_name: str, true_name: str
) -> Figure:
    # LIME lists words by decreasing |weight|; barh draws bottom-up, so reverse it
    # to put the most important word on top.
    words = [word for word, _ in reversed(word_weights)]
    weights = [weight for _, weight in reversed(word_weights)]
    figure = Figure(figsize=(6.4, 0.4 * len(words) + 1.6), layout="constrained")
    axes = figure.add_subplot()
    axes.barh(
        range(len(words)),
        weights,
        color=[
            _POSITIVE_COLOUR if weight > 0 else _NEGATIVE_COLOUR for weight in weights
        ],
    )
    axes.set_yticks(range(len(words)), labels=words)
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_xlabel(f"LIME weight towards {predicted_name!r}")
    axes.set_title(f"Predicted {predicted_name!r}, true class {true_name!r}")
    return figure


def explain_article(
    trained_model: TokenClassifier,
    vocabulary: dict[str, Any],
    test_split: pd.DataFrame,
    max_tokens: int,
    options: ExplanationOptions,
) -> tuple[str, Figure, dict[str, Any]]:
    """Explain the model's prediction for one test article with LIME.

    The explained label is the one the model predicts, so the words show what
    drove the decision, right or wrong.

    Args:
        trained_model: Any backend's model implementing ``TokenClassifier``.
        vocabulary: ``Vocabulary.to_dict()`` of the vocabulary the model uses.
        test_split: The test table; its ``text`` and ``label`` columns are read.
        max_tokens: Length texts are cut or padded to, as in training.
        options: The ``explanation`` block (a dict is validated here).

    Returns:
        ``(html, figure, summary)``: LIME's self-contained HTML page, a bar chart of
        the word weights, and a dict with the article, its true and predicted
        labels, the probabilities and ``word_weights`` as ``[word, weight]`` pairs.

    Raises:
        ValueError: If ``article_index`` is not a row of the test split.
    """
    # Imported here, not at the top: every kedro command imports the pipelines
    # (find_pipelines, kedro viz build) and LIME pulls in scikit-learn and SciPy.
    from lime.lime_text import LimeTextExplainer  # noqa: PLC0415

    options = ExplanationOptions.model_validate(options)
    if options.article_index >= len(test_split):
        raise ValueError(
            f"explanation.article_index is {options.article_index} but the test "
            f"split has only {len(test_split)} rows"
        )
    article = test_split.iloc[options.article_index]
    text = str(article["text"])
    true_label = int(article["label"])

    classifier = TextPipelineClassifier(trained_model, vocabulary, max_tokens)
    probabilities = classifier.predict_texts([text])[0]
    predicted = int(probabilities.argmax())

    explainer = LimeTextExplainer(
        class_names=list(CLASS_NAMES), random_state=options.seed
    )
    explanation = explainer.explain_instance(
        text,
        classifier.predict_texts,
        labels=(predicted,),
        num_features=options.num_features,
        num_samples=options.num_samples,
    )
    word_weights = [
        (str(word), float(weight)) for word, weight in explanation.as_list(predicted)
    ]
    logger.info(
        "%s model, test article %d: predicted %s (true %s), top words %s",
        trained_model.backend,
        options.article_index,
        CLASS_NAMES[predicted],
        CLASS_NAMES[true_label],
        [word for word, _ in word_weights[:3]],
    )

    summary = {
        "article_index": options.article_index,
        "text": text,
        "true_label": true_label,
        "true_label_name": CLASS_NAMES[true_label],
        "predicted_label": predicted,
        "predicted_label_name": CLASS_NAMES[predicted],
        "probabilities": {
            name: float(probabilities[index]) for index, name in enumerate(CLASS_NAMES)
        },
        "word_weights": [[word, weight] for word, weight in word_weights],
        "seed": options.seed,
        "num_samples": options.num_samples,
    }
    figure = _plot_word_weights(
        word_weights, CLASS_NAMES[predicted], CLASS_NAMES[true_label]
    )
    return explanation.as_html(labels=(predicted,)), figure, summary
