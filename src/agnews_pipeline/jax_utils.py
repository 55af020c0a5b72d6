"""Framework-neutral JAX helpers shared by the Haiku and Flax backends.

Nothing here knows about Haiku or Flax: both keep their parameters in nested dicts
(Haiku ``{module: {param: array}}``, Flax ``{"params": {module: {param: array}}}``),
and these helpers only walk such pytrees by their key paths. Both feed their jitted
functions the fixed-size, weighted batches of ``training.padded_batch``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import jax
import numpy as np
import optax

from agnews_pipeline.training import ordered_batches, padded_batch

# Rows per forward pass when scoring a split.
EVAL_BATCH_SIZE = 2048

# training.padded_batch:
# {"token_ids": int32 (B, T), "labels": int32 (B,), "weights": float32 (B,)}
Batch = dict[str, np.ndarray]


def path_names(path: tuple[Any, ...]) -> tuple[str, ...]:
    """Turn a JAX key path (dict keys, attributes, indices) into plain strings."""
    names = []
    for entry in path:
        if isinstance(entry, jax.tree_util.DictKey):
            names.append(str(entry.key))
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            names.append(entry.name)
        elif isinstance(entry, jax.tree_util.SequenceKey):
            names.append(str(entry.idx))
        else:
            names.append(str(entry))
    return tuple(names)


def frozen_mask(params: Any, frozen_names: Collection[str]) -> Any:
    """Mark the leaves to freeze: ``True`` where a path component is a frozen name.

    A leaf is frozen when any component of its key path equals one of
    ``frozen_names`` exactly, so ``{"embed"}`` freezes Haiku's
    ``params["embed"]["embeddings"]`` but not a module named ``"embed_1"``.
    The result mirrors ``params`` and is the static ``freeze_mask`` that
    ``optax.selective_transform`` and ``optax.freeze`` expect.

    Args:
        params: A parameter pytree (nested dicts of arrays).
        frozen_names: Module or parameter names whose leaves must not be trained.

    Returns:
        A pytree of Python bools with the structure of ``params``.
    """
    names = frozenset(frozen_names)
    return jax.tree_util.tree_map_with_path(
        lambda path, _: not names.isdisjoint(path_names(path)), params
    )


def make_adam(
    learning_rate: float, gradient_clip: float | None = None
) -> optax.GradientTransformation:
    """Adam, after scaling each step's gradients to at most ``gradient_clip`` (L2)."""
    if gradient_clip is None:
        return optax.adam(learning_rate)
    # Clip first, so Adam's moments only ever see the bounded gradient.
    return optax.chain(
        optax.clip_by_global_norm(gradient_clip), optax.adam(learning_rate)
    )


def tree_to_numpy(tree: Any) -> Any:
    """Copy every leaf of a pytree to host memory as an owned NumPy array."""
    return jax.tree.map(lambda leaf: np.array(leaf, copy=True), jax.device_get(tree))


def accuracy(
    count_correct: Callable[[Any, Batch], jax.Array],
    params: Any,
    features: dict[str, np.ndarray],
    batch_size: int = EVAL_BATCH_SIZE,
) -> float:
    """Share of rows of ``features`` whose arg-max class equals the label.

    Args:
        count_correct: Jitted ``(params, batch) -> weighted count of right rows``.
        params: The model parameters to score.
        features: ``token_ids`` and ``labels`` of the split.
        batch_size: Rows per forward pass.
    """
    num_rows = len(features["labels"])
    if num_rows == 0:
        return float("nan")
    size = min(batch_size, num_rows)
    correct = [
        count_correct(params, padded_batch(features, rows, size))
        for rows in ordered_batches(num_rows, size)
    ]
    return float(np.sum(jax.device_get(correct))) / num_rows
