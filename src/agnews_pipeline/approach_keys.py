"""The keyword names under which per-approach datasets reach a node that reads many.

Kedro input names must be identifiers while dataset names use dots, so the results
table and the ensemble receive ``glove_haiku.mean.metrics`` as ``glove_haiku__mean``.
"""

from __future__ import annotations

KEY_SEPARATOR = "__"


def approach_key(family: str, approach: str) -> str:
    """``("glove_haiku", "mean")`` -> ``glove_haiku__mean``."""
    return f"{family}{KEY_SEPARATOR}{approach}"


def split_key(key: str, reader: str) -> tuple[str, str]:
    """``glove_haiku__mean`` -> ``("glove_haiku", "mean")``; ``reader`` names the node's inputs in errors."""
    family, separator, approach = key.partition(KEY_SEPARATOR)
    if not separator or not approach:
        raise ValueError(
            f"{reader} input {key!r} is not named <family>{KEY_SEPARATOR}<approach>"
        )
    return family, approach
