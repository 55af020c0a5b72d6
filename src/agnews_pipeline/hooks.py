"""Project hooks."""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node

logger = logging.getLogger(__name__)


class NodeResourceHooks:
    """Logs each node's wall time and the process's peak resident memory after it."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """Remember when the node started."""
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        """Log the node's seconds and the peak memory so far."""
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        # ru_maxrss is in KiB on Linux: the process's high-water mark so far.
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        logger.info("%s took %.2f s (process peak memory %.0f MiB)", node.name, seconds, peak_mib)
