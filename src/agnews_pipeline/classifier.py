"""The one small interface through which evaluation and explanation use any backend."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol, runtime_checkable

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("World", "Sports", "Business", "Sci/Tech")


@runtime_checkable
class TokenClassifier(Protocol):
    """A trained model that scores padded token-id matrices.

    Every backend's model object (loaded from the catalog) implements this.

    Attributes:
        backend: Framework name, e.g. ``"haiku"``, ``"flax"``, ``"torch"``, ``"mxnet"``.
    """

    backend: str

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return class probabilities, shape ``(N, 4)``, for ``(N, T)`` token ids."""
        ...

    def parameter_summary(self) -> dict[str, int | bool]:
        """Return :func:`summarize_parameters` of the model's own parameters."""
        ...


def summarize_module_parameters(
    params: Mapping[str, Mapping[str, np.ndarray]],
    *,
    embedding_module: str,
    embedding_param: str,
    frozen_embedding: bool,
) -> dict[str, int | bool]:
    """:func:`summarize_parameters` of JAX-style ``{module: {name: array}}`` params."""
    shapes = {
        f"{module}/{name}": np.shape(array)
        for module, arrays in params.items()
        for name, array in arrays.items()
    }
    embedding = f"{embedding_module}/{embedding_param}"
    return summarize_parameters(
        shapes, embedding=embedding, frozen={embedding} if frozen_embedding else ()
    )


def summarize_parameters(
    shapes: Mapping[str, tuple[int, ...]],
    *,
    embedding: str,
    frozen: Collection[str] = (),
) -> dict[str, int | bool]:
    """Count a model's parameters the same way for every backend.

    Args:
        shapes: Every parameter array's shape, by name.
        embedding: Name of the ``(V, d)`` embedding matrix among ``shapes``.
        frozen: Names of the arrays training never updates (a GloVe matrix).

    Returns:
        ``parameters`` and ``trainable_parameters`` (scalars counted),
        ``embedding_dimension`` (d) and ``embedding_trainable``.

    Raises:
        KeyError: If ``embedding`` or a ``frozen`` name is not among ``shapes``.
    """
    for name in (embedding, *frozen):
        if name not in shapes:
            raise KeyError(f"no parameter {name!r}; the model has {sorted(shapes)}")
    sizes = {name: int(np.prod(shape, dtype=np.int64)) for name, shape in shapes.items()}
    return {
        "parameters": sum(sizes.values()),
        "trainable_parameters": sum(
            size for name, size in sizes.items() if name not in frozen
        ),
        "embedding_dimension": int(shapes[embedding][-1]),
        "embedding_trainable": embedding not in frozen,
    }


def predict_in_batches(
    classifier: TokenClassifier,
    token_ids: np.ndarray,
    lengths: np.ndarray,
    batch_size: int = 2048,
) -> np.ndarray:
    """Score a large matrix batch by batch so memory stays flat."""
    if len(token_ids) == 0:
        return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
    parts = [
        np.asarray(
            classifier.predict_proba(
                token_ids[start : start + batch_size], lengths[start : start + batch_size]
            ),
            dtype=np.float32,
        )
        for start in range(0, len(token_ids), batch_size)
    ]
    return np.concatenate(parts)


def next_power_of_two(n: int) -> int:
    """The smallest power of two that is at least ``n`` (1 for ``n <= 1``)."""
    return 1 << max(n - 1, 0).bit_length()


def predict_in_padded_chunks(
    predict: Callable[[np.ndarray], np.ndarray],
    token_ids: np.ndarray,
    num_classes: int,
    max_batch_size: int,
) -> np.ndarray:
    """Class probabilities of every row, float32 ``(N, num_classes)``, chunk by chunk.

    ``predict`` sees chunks of at most ``max_batch_size`` rows, each padded with
    all-padding rows to a power of two, so that a compiled forward pass meets only a
    few shapes however the callers (evaluation, LIME) size their batches; the
    padding rows' outputs are dropped.
    """
    token_ids = np.asarray(token_ids, dtype=np.int32)
    num_rows = len(token_ids)
    if num_rows == 0:
        return np.zeros((0, num_classes), dtype=np.float32)
    parts = []
    for start in range(0, num_rows, max_batch_size):
        chunk = token_ids[start : start + max_batch_size]
        rows = len(chunk)
        padded_rows = min(next_power_of_two(rows), max_batch_size)
        if padded_rows > rows:
            padding = np.zeros((padded_rows - rows, chunk.shape[1]), np.int32)
            chunk = np.concatenate([chunk, padding])
        parts.append(np.asarray(predict(chunk))[:rows])
    return np.concatenate(parts).astype(np.float32, copy=False)
