"""Nodes of the ``glove_haiku`` pipeline: train one frozen-GloVe Haiku classifier."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.training import TrainingOptions

from .models import GloveHaikuClassifier, GloveHaikuConfig

logger = logging.getLogger(__name__)


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    embedding_matrix: np.ndarray,
    embedding_coverage: dict[str, Any],
    *,
    model_options: GloveHaikuConfig,
    training_options: TrainingOptions,
) -> tuple[GloveHaikuClassifier, dict[str, Any]]:
    """Train the approach's network on frozen GloVe and return it with its history.

    The matrix's coverage report is kept in the history under ``embedding``, so the
    metrics say which GloVe was used and how much of the vocabulary it covers.
    """
    from .train import train_glove_classifier  # noqa: PLC0415 - JAX loads only here

    model_options = GloveHaikuConfig.model_validate(model_options)
    training_options = TrainingOptions.model_validate(training_options)
    classifier, history = train_glove_classifier(
        train_features,
        validation_features,
        embedding_matrix,
        model_options,
        training_options,
        name=f"glove_haiku ({model_options.pooling})",
    )
    logger.info(
        "glove_haiku (%s): best validation accuracy %.4f at epoch %d of %d",
        model_options.pooling,
        history["best_validation_accuracy"],
        history["best_epoch"],
        history["epochs"],
    )
    return classifier, {**history, "embedding": dict(embedding_coverage)}
