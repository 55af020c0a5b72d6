"""Nodes of the ``glove_gluonnlp`` pipeline: a GloVe matrix via GluonNLP, a classifier."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from agnews_pipeline.datasets.glove_dataset import GloVeVectors
from agnews_pipeline.training import TrainingOptions, ValidationOptions

from .models import GloveGluonClassifier, GloveGluonConfig

logger = logging.getLogger(__name__)


class GloveSourceOptions(BaseModel):
    """The ``source`` parameter block of an embedding stage.

    The file itself is a catalog entry (``conf/base/catalog_01_raw_glove.yml``);
    this block says what it should be and what happens when it is absent.

    Attributes:
        requested: The vectors the approaches call for, e.g. ``"glove.840B.300d"``,
            recorded next to the vectors actually used.
        fallback: Use the bundled glove.6B.50d when the configured file is absent
            (with a warning, and ``fallback: true`` in the coverage and metrics);
            ``False`` makes an absent file an error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    requested: str
    fallback: bool = True


def build_glove_embedding(
    vocabulary: dict[str, Any],
    glove_vectors: GloVeVectors | None,
    fallback_vectors: GloVeVectors,
    source: GloveSourceOptions,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Build the vocabulary's frozen GloVe matrix through GluonNLP's embedding API.

    Args:
        vocabulary: ``Vocabulary.to_dict()`` of the ``word_regex`` vocabulary.
        glove_vectors: The configured GloVe release, or ``None`` when its file is
            absent (an ``optional`` catalog entry).
        fallback_vectors: The bundled glove.6B.50d, used when the release is absent
            and ``source.fallback`` allows it.
        source: The stage's ``source`` block (a dict is validated here).

    Returns:
        ``(matrix, coverage)``: float32 ``(V, d)`` and a JSON-ready report of the
        GloVe really used (``glove``, ``dimension``), what was ``requested``,
        whether this is a ``fallback`` (and why), and the vocabulary and token
        coverage.

    Raises:
        ValueError: If the release is absent and ``fallback`` is off.
    """
    from .embedding import glove_embedding_matrix  # noqa: PLC0415 - MXNet loads here

    source = GloveSourceOptions.model_validate(source)
    vectors, reason = glove_vectors, None
    if vectors is None:
        reason = f"{source.requested} is not available (its catalog file is absent)"
        if not source.fallback:
            raise ValueError(
                f"{reason} and `fallback` is off. Put the file where the catalog "
                "entry in conf/base/catalog_01_raw_glove.yml points (or set "
                "GLOVE_DIR), or set `fallback: true` to use glove.6B.50d."
            )
        logger.warning(
            "%s: falling back to %s; accuracies are not comparable with the "
            "tutorial's %s figures",
            reason,
            fallback_vectors.name,
            source.requested,
        )
        vectors = fallback_vectors
    matrix, coverage = glove_embedding_matrix(vocabulary, vectors)
    return matrix, {
        "requested": source.requested,
        "fallback": reason is not None,
        "fallback_reason": reason,
        **coverage,
    }


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    test_features: dict[str, np.ndarray],
    embedding_matrix: np.ndarray,
    embedding_coverage: dict[str, Any],
    *,
    model_options: GloveGluonConfig,
    training_options: TrainingOptions,
    validation_options: ValidationOptions,
) -> tuple[GloveGluonClassifier, dict[str, Any]]:
    """Train the approach's network on frozen GloVe and return it with its history.

    Args:
        train_features: Token ids, lengths and labels of the train split.
        validation_features: The same for the validation split.
        test_features: The same for the test split; only read when
            ``validation_options.split`` is ``"test"`` (the tutorial's flaw).
        embedding_matrix: The frozen GloVe matrix, ``(V, d)``.
        embedding_coverage: The matrix's report, kept in the history under
            ``embedding`` so the metrics say which GloVe was really used.
        model_options: The ``model`` block (a dict is validated here).
        training_options: The ``training`` block.
        validation_options: The ``validation`` block.

    Returns:
        The trained classifier and ``TrainingHistory.to_dict()`` plus
        ``embedding`` and ``validated_on``.
    """
    from .train import train_glove_gluon_classifier  # noqa: PLC0415 - MXNet loads here

    model_options = GloveGluonConfig.model_validate(model_options)
    training_options = TrainingOptions.model_validate(training_options)
    validation_options = ValidationOptions.model_validate(validation_options)
    name = f"glove_gluonnlp ({model_options.pooling}, {embedding_coverage['glove']})"
    scored = validation_options.scored_split(validation_features, test_features, name)
    classifier, history = train_glove_gluon_classifier(
        train_features,
        scored,
        embedding_matrix,
        model_options,
        training_options,
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
        "embedding": dict(embedding_coverage),
    }
