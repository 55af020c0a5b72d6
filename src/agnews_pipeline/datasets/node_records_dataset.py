"""Per-node run records, one file each, so concurrent writers never overwrite each other."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from copy import deepcopy
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path

NODE_KEY = "node"
RUN_KEY = "run_id"
FINISHED_KEY = "finished_at"
# Characters kept as they are in folder and file names; anything else becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 100
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class NodeRecordsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """A folder of one JSON record per node and run, merged into one view on load.

    ``save(record)`` stores one node's record (a dict with ``node``, ``run_id`` and
    ``finished_at``, an ISO 8601 time) as ``<path>/<node>/<run_id>.json``, all or
    nothing like every file the project writes (``agnews_pipeline.atomic_files``),
    so a reader never sees half a record. No writer reads or rewrites another's file, which
    is what lets parallel processes (Airflow tasks, one per node) record side by side.

    ``load()`` returns ``{"nodes": {node: record}}``, the latest record of each node by
    ``finished_at`` (without the ``node`` key), and ``{"nodes": {}}`` before any save.

    Example catalog entry::

        node_resources:
          type: agnews_pipeline.datasets.NodeRecordsDataset
          path: data/08_reporting/node_resources
    """

    def __init__(
        self,
        *,
        path: str,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        fs_args = deepcopy(fs_args) or {}
        protocol, folder = get_protocol_and_path(path)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._path = path
        self._folder = PurePosixPath(folder)
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        """Merge every complete record file: the latest record per node."""
        latest: dict[str, dict[str, Any]] = {}
        for file in self._record_files():
            record = self._read_record(file)
            node = record.pop(NODE_KEY)
            current = latest.get(node)
            # Files come sorted by run id (Kedro's are timestamps): on a tie, the later run.
            if current is None or _finished(record) >= _finished(current):
                latest[node] = record
        return {"nodes": dict(sorted(latest.items()))}

    def save(self, data: dict[str, Any]) -> None:
        """Write one node's record to its own file, all or nothing."""
        _check_record(data, self._path)
        target = self.record_path(data[NODE_KEY], data.get(RUN_KEY))
        try:
            text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise DatasetError(
                f"NodeRecordsDataset '{self._path}': the record of node "
                f"'{data[NODE_KEY]}' cannot be stored as JSON: {error}"
            ) from error
        with self._fs.open(target, "w", encoding="utf-8") as file:
            file.write(text + "\n")

    def record_path(self, node: str, run_id: str | None) -> str:
        """Where the record of ``node`` in run ``run_id`` is stored."""
        # Without a run id, a random one: two such records must not share a file.
        run = run_id or f"no-run-id-{uuid.uuid4().hex[:12]}"
        return str(self._folder / _file_name(node) / f"{_file_name(run)}.json")

    def _record_files(self) -> list[str]:
        if not self._fs.exists(str(self._folder)):
            return []
        # "*.json" skips the temporaries of unfinished writes ("<run>.json.partial-...").
        return sorted(self._fs.glob(str(self._folder / "*" / "*.json")))

    def _read_record(self, file: str) -> dict[str, Any]:
        with self._fs.open(file, "r", encoding="utf-8") as handle:
            text = handle.read()
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(
                f"Node record '{file}' is not valid JSON ({error.msg} at line "
                f"{error.lineno}); expected one record written by NodeRecordsDataset. "
                "Delete the file to drop the record."
            ) from error
        if not isinstance(record, dict) or not isinstance(record.get(NODE_KEY), str):
            raise DatasetError(
                f"Node record '{file}' has no '{NODE_KEY}' name; expected a JSON object "
                "written by NodeRecordsDataset. Delete the file to drop the record."
            )
        return record

    def _exists(self) -> bool:
        return bool(self._record_files())

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "protocol": self._protocol}


def _check_record(data: Any, where: str) -> None:
    if not isinstance(data, dict) or not isinstance(data.get(NODE_KEY), str):
        raise DatasetError(
            f"NodeRecordsDataset '{where}' saves one node's record at a time: expected "
            f"a dict with a '{NODE_KEY}' name, got {type(data).__name__}"
            + (f" with keys {sorted(data)}" if isinstance(data, dict) else "")
        )
    finished = data.get(FINISHED_KEY)
    if finished is not None and _parse_time(finished) is None:
        raise DatasetError(
            f"NodeRecordsDataset '{where}': '{FINISHED_KEY}' of node '{data[NODE_KEY]}' "
            f"is {finished!r}; expected an ISO 8601 time such as "
            "'2026-01-31T12:00:00.000000+00:00'"
        )


def _file_name(name: str) -> str:
    """A file-system-safe name that still differs for names that differ."""
    safe = _UNSAFE.sub("_", name).strip(".") or "_"
    if safe == name and len(name) <= _MAX_NAME:
        return name
    # Sanitising or shortening can map two names onto one: a digest keeps them apart.
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{safe[:_MAX_NAME]}-{digest}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _finished(record: dict[str, Any]) -> datetime:
    """When the record's node finished; records without a valid time sort first."""
    finished = _parse_time(record.get(FINISHED_KEY))
    if finished is None:
        return _EARLIEST
    # Naive times are taken as UTC, the zone the hooks write, so that they compare.
    return finished if finished.tzinfo else finished.replace(tzinfo=UTC)
