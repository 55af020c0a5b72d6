"""Reuse keyed by what made an artifact: a changed parameter never serves a stale file.

Every node's outputs get a *key*: a hash of the node, its function, the values of
the parameters it reads and the keys of its inputs (an input another node makes has
that node's key; a file no node makes, such as the raw data, is keyed by its
catalog entry and, for a single file, its size and modification time). After a
save, the key is written next to the file (``<file>.provenance.json``, with the
node and the keys it was derived from). Before a run, :class:`ProvenanceHooks`
computes the key each persisted output would get now; where the stored one differs
or is absent, :class:`KeyedDataCatalog` reports the output as missing, so
``kedro run --only-missing-outputs`` recomputes exactly the nodes a parameter
change reaches (and what depends on them) and reuses everything else.

Code changes are not part of the key: like Kedro itself, the project assumes a
changed function is re-run on purpose.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from agnews_pipeline.atomic_files import AtomicLocalFileSystem

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".provenance.json"
_PARAMETERS = "parameters"
_PARAMETER_PREFIX = "params:"


def digest(value: Any) -> str:
    """A short stable hash of a JSON-able value (keys sorted, anything else by repr)."""
    text = json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def node_key(node: Node, input_keys: Mapping[str, str]) -> str:
    """The key of everything ``node`` writes, given the keys of its inputs."""
    function = getattr(node.func, "__qualname__", repr(node.func))
    return digest(
        {
            "node": node.name,
            "function": f"{getattr(node.func, '__module__', '')}.{function}",
            "inputs": dict(sorted(input_keys.items())),
        }
    )


def artifact_file(dataset: Any) -> Path | None:
    """The local path a file dataset writes (its base path when versioned), if any."""
    filepath = getattr(dataset, "_filepath", None)
    protocol = getattr(dataset, "_protocol", "file")
    if filepath is None or protocol not in ("file", "local"):
        return None
    return Path(str(filepath))


def sidecar(path: Path) -> Path:
    """Where the key of the artifact at ``path`` is kept."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_key(path: Path) -> str | None:
    """The key stored for the artifact at ``path``, or ``None`` when there is none."""
    try:
        return json.loads(sidecar(path).read_text())["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_key(path: Path, record: Mapping[str, Any]) -> None:
    """Store ``record`` (with its ``key``) next to the artifact, whole or not at all."""
    target = sidecar(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with AtomicLocalFileSystem().open(str(target), "w") as stream:
        json.dump(record, stream, indent=2, sort_keys=True)


def _external_key(name: str, catalog: DataCatalog) -> str:
    """Key of an input no node in the run makes: its stored key, else its identity."""
    dataset = catalog.get(name)
    path = artifact_file(dataset)
    stored = read_key(path) if path else None
    if stored:
        return stored
    identity: dict[str, Any] = {"dataset": name, "describe": repr(dataset)}
    if path and path.is_file():
        stat = path.stat()
        identity["file"] = [stat.st_size, stat.st_mtime_ns]
    return digest(identity)


def _arguments(node: Node) -> list[tuple[str, str]]:
    """(argument, dataset) per input: a dataset renamed for the same argument is the same input."""
    inputs = node._inputs  # noqa: SLF001 - the argument names Kedro keeps for dict inputs
    if isinstance(inputs, Mapping):
        return list(inputs.items())
    return [(str(position), name) for position, name in enumerate(node.inputs)]


def expected_keys(pipeline: Pipeline, catalog: DataCatalog) -> dict[str, dict[str, Any]]:
    """Dataset -> the provenance record its producing node would store now."""
    dataset_keys: dict[str, str] = {}
    records: dict[str, dict[str, Any]] = {}
    values: dict[str, Any] = {}
    for node in pipeline.nodes:  # topologically sorted
        input_keys = {}
        for argument, name in _arguments(node):
            if name in dataset_keys:
                input_keys[argument] = dataset_keys[name]
            elif name.startswith(_PARAMETER_PREFIX) or name == _PARAMETERS:
                if name not in values:
                    values[name] = catalog.load(name)
                input_keys[argument] = digest(values[name])
            else:
                input_keys[argument] = _external_key(name, catalog)
        key = node_key(node, input_keys)
        for output in node.outputs:
            dataset_keys[output] = key
            records[output] = {"key": key, "node": node.name, "inputs": input_keys}
    return records


class KeyedDataCatalog(DataCatalog):
    """A ``DataCatalog`` for which an artifact made from other inputs does not exist."""

    _stale: frozenset[str] = frozenset()

    def mark_stale(self, names: Iterable[str]) -> None:
        """Report these datasets as missing until they are saved again."""
        self._stale = frozenset(names)

    def exists(self, ds_name: str) -> bool:
        """Whether the dataset exists and was made from what would make it now."""
        return ds_name not in self._stale and super().exists(ds_name)

    def save(self, key: str, data: Any) -> None:
        """Save, after which the dataset counts as current again."""
        super().save(key, data)
        self._stale = self._stale - {key}


class ProvenanceHooks:
    """Compute the keys before a run, store them after each save."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._catalog: DataCatalog | None = None

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Key every output the run could write; mark those whose stored key differs."""
        self._catalog = catalog
        self._records = expected_keys(pipeline, catalog)
        # Only reuse reads the stored keys; any other run rewrites what it makes.
        if not run_params.get("only_missing_outputs"):
            return
        stale = []
        for name, record in self._records.items():
            path = artifact_file(catalog.get(name)) if name in catalog else None
            # A missing artifact is recomputed anyway; a present one only if stale.
            if path is not None and path.exists() and read_key(path) != record["key"]:
                stale.append(name)
        if not stale:
            return
        if isinstance(catalog, KeyedDataCatalog):
            catalog.mark_stale(stale)
            logger.info(
                "%d artifact(s) were made from other parameters or inputs and will "
                "be recomputed: %s",
                len(stale),
                ", ".join(sorted(stale)),
            )
        else:
            # Reusing them would serve stale artifacts; stopping says what to do.
            raise RuntimeError(
                f"{type(catalog).__name__} cannot report artifacts made from other "
                "parameters or inputs as missing (ParallelRunner uses its own catalog), "
                "so --only-missing-outputs would reuse these: "
                f"{', '.join(sorted(stale))}. Run with the default runner, or without "
                "--only-missing-outputs."
            )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Store the key of what was just written next to it."""
        record = self._records.get(dataset_name)
        if record is None or self._catalog is None:
            return
        path = artifact_file(self._catalog.get(dataset_name))
        if path is not None and path.exists():
            write_key(path, record)
