"""Nodes of the ``rnn_torch`` pipeline: train one vanilla-RNN classifier in PyTorch."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.training import TrainingOptions

from .models import RNNClassifier, RNNTorchConfig

logger = logging.getLogger(__name__)


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocabulary: dict[str, Any],
    glove_matrix: np.ndarray,
    *,
    model_options: RNNTorchConfig,
    training_options: TrainingOptions,
) -> tuple[RNNClassifier, dict[str, Any]]:
    """Train the approach's RNN on the token ids and return it with its history.

    Args:
        train_features: ``token_ids`` ``(N, T)``, ``lengths`` and ``labels``.
        validation_features: The same, scored after every epoch.
        vocabulary: ``Vocabulary.to_dict()``; its tokens size the embedding.
        glove_matrix: GloVe rows aligned with the vocabulary, where the embedding
            starts with ``embedding_init: glove`` (unused with ``random``).
        model_options: The approach's ``model`` block.
        training_options: The approach's ``training`` block.

    Returns:
        The trained classifier and its training history.
    """
    from .train import train_rnn_classifier  # noqa: PLC0415 - torch loads only here

    model_options = RNNTorchConfig.model_validate(model_options)
    training_options = TrainingOptions.model_validate(training_options)
    vocab_size = len(vocabulary["tokens"])
    name = (
        f"rnn_torch ({'bi' if model_options.bidirectional else ''}RNN "
        f"{list(model_options.hidden_sizes)} x {model_options.num_layers})"
    )
    classifier, history = train_rnn_classifier(
        train_features,
        validation_features,
        vocab_size,
        model_options,
        training_options,
        glove_matrix=glove_matrix,
        name=name,
    )
    logger.info(
        "%s: best validation accuracy %.4f at epoch %d of %d",
        name,
        history["best_validation_accuracy"],
        history["best_epoch"],
        history["epochs"],
    )
    return classifier, history
