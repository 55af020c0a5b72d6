"""GloVe in training: a trainable embedding's start, and the frozen-GloVe trainers' inputs.

The tutorials draw their trainable embeddings at random. Starting them from the GloVe
matrix the ``glove`` pipeline already builds for the approach's vocabulary changes no
layer of the architecture (the embedding is still ``Embed(V, d)`` and still trained); it
only moves where training starts. When the embedding is narrower than GloVe the vectors
are reduced by PCA, when it is wider they are rotated into the wider space by a seeded
random orthonormal map, so distances between words survive either way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np

from agnews_pipeline.training import TrainingOptions, check_splits

logger = logging.getLogger(__name__)

T = TypeVar("T")


def trainable_embedding_start(
    glove_matrix: np.ndarray | None,
    vocab_size: int,
    embed_dim: int,
    options: TrainingOptions,
) -> np.ndarray | None:
    """The rows a trainable embedding starts from: GloVe's, or ``None`` (random init).

    Args:
        glove_matrix: The GloVe matrix built for the approach's vocabulary, if wired.
        vocab_size: Rows of the embedding (the vocabulary's size).
        embed_dim: The embedding's width.
        options: ``embedding_init`` chooses, ``seed`` seeds
            :func:`glove_initial_embedding`.

    Returns:
        float32 ``(vocab_size, embed_dim)`` under ``embedding_init: glove``, else
        ``None`` so the framework draws its own initialisation.

    Raises:
        ValueError: If the matrix's rows are not the vocabulary's (a wiring error,
            whatever the setting), or ``glove`` is asked for without a matrix.
    """
    if glove_matrix is not None and len(glove_matrix) != vocab_size:
        raise ValueError(
            f"the GloVe matrix has {len(glove_matrix)} rows but the vocabulary has "
            f"{vocab_size} tokens: was it built for this approach's tokenizer and "
            "vocabulary?"
        )
    if options.embedding_init != "glove":
        return None
    if glove_matrix is None:
        raise ValueError("training.embedding_init is 'glove' but no GloVe matrix was given")
    return glove_initial_embedding(glove_matrix, embed_dim, options.seed)


def refuse_glove_start(options: TrainingOptions, family: str) -> None:
    """Refuse ``embedding_init: glove`` where the embedding already is GloVe, frozen."""
    if options.embedding_init != "random":
        raise ValueError(
            f"{family} embeds with the frozen GloVe matrix itself, so "
            "training.embedding_init must be 'random' (no trainable embedding to "
            f"initialise), got {options.embedding_init!r}"
        )


class FrozenGloveInputs(NamedTuple):
    """What a frozen-GloVe trainer (``glove_haiku``, ``glove_gluonnlp``) starts from."""

    matrix: np.ndarray  # float32 (V, d)
    train: dict[str, np.ndarray]
    validation: dict[str, np.ndarray]


def frozen_glove_trainer(family: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a trainer of checked ``FrozenGloveInputs`` the signature every caller uses.

    The decorated ``fit(inputs, config, options, name)`` is called as ``train(
    train_features, validation_features, embedding_matrix, config, options, *,
    name=family)``: ``token_ids`` ``(N, T)``, ``lengths`` and ``labels`` of the train
    split and of the split scored after each epoch, the frozen GloVe vectors ``(V, d)``
    (row 0 for padding), the model options (labels must lie in
    ``range(config.num_classes)``) and the training options (``embedding_init`` must
    be ``random``). ``fit`` gets the matrix as float32 and the checked splits.

    Raises:
        ValueError: (from ``train``) for a GloVe start (``refuse_glove_start``), a
            matrix that is not ``(V, d)``, or splits ``check_splits`` rejects.
    """

    def decorate(fit: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fit)
        def train(
            train_features: dict[str, np.ndarray],
            validation_features: dict[str, np.ndarray],
            embedding_matrix: np.ndarray,
            config: Any,
            options: TrainingOptions,
            *,
            name: str = family,
        ) -> T:
            refuse_glove_start(options, family)
            matrix = np.asarray(embedding_matrix, dtype=np.float32)
            if matrix.ndim != 2:
                raise ValueError(
                    f"embedding_matrix must be (V, d), got shape {matrix.shape}"
                )
            train_split, validation_split = check_splits(
                train_features,
                validation_features,
                len(matrix),
                config.num_classes,
                vocabulary="the embedding matrix",
            )
            inputs = FrozenGloveInputs(matrix, train_split, validation_split)
            return fit(inputs, config, options, name)

        return train

    return decorate


def log_frozen_glove_model(
    name: str, pooling: str, trainable: int, frozen: int, num_rows: int
) -> None:
    """Log what a frozen-GloVe model trains before its first epoch."""
    logger.info(
        "%s: %s pooling, %d trainable and %d frozen parameters, %d training rows",
        name,
        pooling,
        trainable,
        frozen,
        num_rows,
    )


def glove_initial_embedding(
    glove_matrix: np.ndarray,
    dimension: int,
    seed: int,
    *,
    padding_row: int | None = 0,
) -> np.ndarray:
    """Initial ``(V, dimension)`` rows for a trainable embedding, made from GloVe.

    Args:
        glove_matrix: ``(V, d)`` GloVe rows aligned with the vocabulary (the
            ``glove`` pipeline's ``embedding_matrix``); all-zero rows are words
            GloVe lacks.
        dimension: The embedding's width.
        seed: Draws the rows of words GloVe lacks and, when ``dimension > d``, the
            rotation.
        padding_row: A row that stays all zeros (the padding index), or ``None``.

    Returns:
        float32 ``(V, dimension)``: covered words carry their (projected) GloVe
        vector, the others a normal draw with the covered rows' spread, the padding
        row zeros.

    Raises:
        ValueError: If the matrix is not 2-D, has no GloVe row at all, or
            ``dimension`` is not positive.
    """
    matrix = np.asarray(glove_matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"GloVe matrix must be (V, d), got shape {matrix.shape}")
    if dimension < 1:
        raise ValueError(f"embedding dimension must be positive, got {dimension}")
    covered = np.any(matrix != 0.0, axis=1)
    if padding_row is not None:
        covered[padding_row] = False
    if not covered.any():
        raise ValueError(
            "the GloVe matrix has no vector for any word of the vocabulary: is it "
            "the matrix built for this approach's tokenizer?"
        )
    if dimension < matrix.shape[1] and covered.sum() < dimension:
        raise ValueError(
            f"cannot reduce GloVe to {dimension} dimensions by PCA: only "
            f"{int(covered.sum())} words of the vocabulary have a GloVe vector"
        )
    rng = np.random.default_rng(seed)
    vectors = _fit_width(matrix[covered], dimension, rng)
    initial = rng.normal(0.0, vectors.std(), size=(len(matrix), dimension))
    initial[covered] = vectors
    if padding_row is not None:
        initial[padding_row] = 0.0
    logger.info(
        "GloVe initialisation: %d of %d rows from %d-d GloVe, projected to %d-d",
        int(covered.sum()),
        len(matrix),
        matrix.shape[1],
        dimension,
    )
    return initial.astype(np.float32)


def _fit_width(vectors: np.ndarray, dimension: int, rng: np.random.Generator) -> np.ndarray:
    """PCA down to ``dimension``, or a random orthonormal map up to it."""
    width = vectors.shape[1]
    if dimension == width:
        return vectors
    if dimension < width:
        centred = vectors - vectors.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        return centred @ components[:dimension].T
    rotation, _ = np.linalg.qr(rng.standard_normal((dimension, width)))
    # rotation has orthonormal columns, so vectors @ rotation.T keeps every norm and dot.
    return vectors @ rotation.T
