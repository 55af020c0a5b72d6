"""Nodes of the ``lstm_mxnet`` pipeline: train one Gluon LSTM classifier."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.training import TrainingOptions, ValidationOptions

from .models import LSTMClassifier, LSTMConfig

logger = logging.getLogger(__name__)


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    test_features: dict[str, np.ndarray],
    vocabulary: dict[str, Any],
    glove_matrix: np.ndarray,
    *,
    model_options: LSTMConfig,
    training_options: TrainingOptions,
    validation_options: ValidationOptions,
) -> tuple[LSTMClassifier, dict[str, Any]]:
    """Train the approach's LSTM on the shared token ids and return it with its history.

    Args:
        train_features: ``token_ids`` ``(N, T)``, ``lengths`` and ``labels``.
        validation_features: The same for the validation split.
        test_features: The same for the test split; only read when
            ``validation_options.split`` is ``"test"`` (the tutorial's flaw).
        vocabulary: ``Vocabulary.to_dict()`` of the ``word_regex`` vocabulary; its
            GluonNLP ``Vocab`` is rebuilt and checked to give the same ids.
        glove_matrix: GloVe rows aligned with that vocabulary, where the embedding
            starts with ``embedding_init: glove`` (unused with ``random``).
        model_options: The ``model`` block (a dict is validated here).
        training_options: The ``training`` block.
        validation_options: The ``validation`` block.

    Returns:
        The trained classifier and ``TrainingHistory.to_dict()`` plus
        ``validated_on`` and ``readout``.
    """
    # MXNet and GluonNLP load only here, not when Kedro imports the pipeline.
    from agnews_pipeline.gluon_vocab import gluonnlp_vocab  # noqa: PLC0415

    from .train import train_lstm_classifier  # noqa: PLC0415

    model_options = LSTMConfig.model_validate(model_options)
    training_options = TrainingOptions.model_validate(training_options)
    validation_options = ValidationOptions.model_validate(validation_options)
    name = f"lstm_mxnet ({_describe(model_options)})"
    scored = validation_options.scored_split(validation_features, test_features, name)
    vocab = gluonnlp_vocab(vocabulary)
    classifier, history = train_lstm_classifier(
        train_features,
        scored,
        len(vocab),
        model_options,
        training_options,
        glove_matrix=glove_matrix,
        name=name,
    )
    logger.info(
        "%s: best %s accuracy %.4f at epoch %d of %d",
        name,
        validation_options.split,
        history["best_validation_accuracy"],
        history["best_epoch"],
        history["epochs"],
    )
    return classifier, {
        **history,
        "validated_on": validation_options.split,
        "readout": model_options.readout,
    }


def _describe(config: LSTMConfig) -> str:
    layers = "->".join(str(size) for size in config.hidden_sizes)
    kind = "BiLSTM" if config.bidirectional else "LSTM"
    depth = f" x{config.num_layers}" if config.num_layers > 1 else ""
    return f"{kind} {layers}{depth}, {config.readout}"
