"""Nodes of the ``conv1d_flax`` pipeline: train one Conv1D Flax classifier."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.training import TrainingOptions

from .models import Conv1DClassifier, Conv1DFlaxConfig

logger = logging.getLogger(__name__)


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocabulary: dict[str, Any],
    glove_matrix: np.ndarray | None,
    *,
    model_options: Conv1DFlaxConfig,
    training_options: TrainingOptions,
) -> tuple[Conv1DClassifier, dict[str, Any]]:
    """Train the approach's network with trainable embeddings; return it and its history.

    Args:
        train_features: Token ids, lengths and labels of the training split.
        validation_features: The same for the split scored after each epoch.
        vocabulary: ``Vocabulary.to_dict()``; its size is the embedding's row count.
        glove_matrix: GloVe rows aligned with the vocabulary; the embedding starts
            from them when ``training_options.embedding_init`` is ``glove``.
        model_options: The ``model`` block (a dict is validated here).
        training_options: The ``training`` block (a dict is validated here).

    Returns:
        The trained classifier and ``TrainingHistory.to_dict()``.
    """
    from .train import train_conv1d_classifier  # noqa: PLC0415 - JAX loads only here

    model_options = Conv1DFlaxConfig.model_validate(model_options)
    training_options = TrainingOptions.model_validate(training_options)
    vocab_size = int(vocabulary.get("size") or len(vocabulary["tokens"]))
    classifier, history = train_conv1d_classifier(
        train_features,
        validation_features,
        vocab_size,
        model_options,
        training_options,
        glove_matrix=glove_matrix,
        name=f"conv1d_flax ({model_options.architecture})",
    )
    logger.info(
        "conv1d_flax (%s): best validation accuracy %.4f at epoch %d of %d",
        model_options.architecture,
        history["best_validation_accuracy"],
        history["best_epoch"],
        history["epochs"],
    )
    return classifier, history
