"""Framework-neutral JAX helpers shared by the Haiku and Flax backends.

Nothing here knows about Haiku or Flax: both keep their parameters in nested dicts
(Haiku ``{module: {param: array}}``, Flax ``{"params": {module: {param: array}}}``),
and these helpers only walk such pytrees by their key paths.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import jax
import numpy as np


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


def tree_to_numpy(tree: Any) -> Any:
    """Copy every leaf of a pytree to host memory as an owned NumPy array."""
    return jax.tree.map(lambda leaf: np.array(leaf, copy=True), jax.device_get(tree))
