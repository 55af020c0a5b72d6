"""The one small interface through which evaluation and explanation use any backend."""

from __future__ import annotations

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
