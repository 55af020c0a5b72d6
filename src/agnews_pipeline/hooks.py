"""Project hooks: each node's wall time and peak memory, logged and kept in the catalog."""

from __future__ import annotations

import logging
import re
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node, Pipeline

logger = logging.getLogger(__name__)

NODE_RESOURCES = "node_resources"
_PROC_SELF = Path("/proc/self")


def reset_peak_memory() -> bool:
    """Reset the process's resident-memory high-water mark (Linux ``clear_refs``).

    Returns:
        Whether the mark was reset; without it the peak is the process's so far.
    """
    try:
        (_PROC_SELF / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_memory_mib() -> float:
    """The resident-memory high-water mark in MiB (since the last reset, on Linux)."""
    try:
        status = (_PROC_SELF / "status").read_text()
    except OSError:
        status = ""
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
    if found:
        return int(found.group(1)) / 1024
    # ru_maxrss is in KiB on Linux and never resets: the process's peak so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class NodeResourceHooks:
    """Measures every node's wall time and peak resident memory.

    Each measurement is logged and saved as one record to the ``node_resources``
    catalog dataset (a ``NodeRecordsDataset``: one file per node and run, merged to
    the latest record per node on load), which the ``reporting`` pipeline turns into
    the run report. Saving only the node's own record, never a read-modify-write of
    a shared file, is what keeps the records of parallel processes (Airflow tasks)
    from overwriting each other. Peak memory is per node where Linux lets the
    high-water mark be reset, else the process's peak so far. Records are saved
    after every node, so a failed run keeps what it measured.
    """

    def __init__(self) -> None:
        self._catalog: Any = None
        self._run_id: str | None = None
        self._started: dict[str, float] = {}
        self._per_node = False

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Keep the catalog and the run id for the records."""
        self._catalog = catalog if NODE_RESOURCES in catalog else None
        self._run_id = run_params.get("run_id") or run_params.get("session_id")

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """Reset the memory high-water mark and start the node's clock."""
        self._per_node = reset_peak_memory()
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        """Log the node's seconds and peak memory and save them as the node's record."""
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        peak = peak_memory_mib()
        logger.info(
            "%s took %.2f s, peak memory %.0f MiB%s",
            node.name,
            seconds,
            peak,
            "" if self._per_node else " (process peak so far)",
        )
        if self._catalog is None:
            return
        self._catalog.save(NODE_RESOURCES, self.record(node.name, seconds, peak))

    def record(self, node_name: str, seconds: float, peak_mib: float) -> dict[str, Any]:
        """One node's record, as ``node_resources`` stores it."""
        return {
            "node": node_name,
            "seconds": round(seconds, 3),
            "peak_memory_mib": round(peak_mib, 1),
            "peak_memory_scope": "node" if self._per_node else "process",
            "run_id": self._run_id,
            # Microseconds: the latest record of a node wins, even within one second.
            "finished_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        }
