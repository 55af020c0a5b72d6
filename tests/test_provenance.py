"""Provenance keys: what makes a key change, where it is kept, and reuse that follows it."""

from __future__ import annotations

import json

import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from agnews_pipeline.provenance import (
    KeyedDataCatalog,
    ProvenanceHooks,
    digest,
    expected_keys,
    node_key,
    read_key,
    sidecar,
    write_key,
)


def scale(values: list[int], factor: int) -> list[int]:
    """Multiply every value."""
    return [value * factor for value in values]


def total(values: list[int]) -> int:
    """Add the values up."""
    return sum(values)


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                scale,
                {"values": "raw", "factor": "params:factor"},
                "scaled",
                name="scale",
            ),
            Node(total, {"values": "scaled"}, "total", name="total"),
        ]
    )


def _catalog(tmp_path, factor: int) -> KeyedDataCatalog:
    raw = JSONDataset(filepath=str(tmp_path / "raw.json"))
    if not raw.exists():
        raw.save([1, 2, 3])
    return KeyedDataCatalog(
        {
            "raw": raw,
            "scaled": JSONDataset(filepath=str(tmp_path / "scaled.json")),
            "total": JSONDataset(filepath=str(tmp_path / "total.json")),
            "params:factor": MemoryDataset(factor),
        }
    )


class NodeRecorder:
    """The names of the nodes a run ran."""

    def __init__(self) -> None:
        self.ran: set[str] = set()

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """Note the node."""
        self.ran.add(node.name)


def _run(tmp_path, factor: int, *, only_missing: bool) -> set[str]:
    """Run the two nodes with the hooks as a session would; the nodes that ran."""
    catalog = _catalog(tmp_path, factor)
    hooks = ProvenanceHooks()
    manager = _create_hook_manager()
    manager.register(hooks)
    recorder = NodeRecorder()
    manager.register(recorder)
    manager.hook.before_pipeline_run(
        run_params={"only_missing_outputs": only_missing},
        pipeline=_pipeline(),
        catalog=catalog,
    )
    SequentialRunner().run(
        _pipeline(), catalog, manager, only_missing_outputs=only_missing
    )
    return recorder.ran


def test_digest_is_stable_and_order_free():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest("x")) == 20


def test_a_node_key_follows_its_inputs_keys_and_its_name():
    node = _pipeline().nodes[0]
    assert node_key(node, {"values": "k1"}) == node_key(node, {"values": "k1"})
    assert node_key(node, {"values": "k1"}) != node_key(node, {"values": "k2"})
    renamed = Node(
        scale, {"values": "raw", "factor": "params:factor"}, "scaled", name="other"
    )
    assert node_key(renamed, {"values": "k1"}) != node_key(node, {"values": "k1"})


def test_parameters_count_by_value_not_by_the_dataset_that_carries_them(tmp_path):
    catalog = _catalog(tmp_path, 3)
    catalog["params:other"] = MemoryDataset(3)
    moved = Pipeline(
        [
            Node(
                scale,
                {"values": "raw", "factor": "params:other"},
                "scaled",
                name="scale",
            )
        ]
    )
    first = expected_keys(_pipeline(), catalog)["scaled"]
    assert expected_keys(moved, catalog)["scaled"]["key"] == first["key"]
    catalog["params:other"] = MemoryDataset(4)
    assert expected_keys(moved, catalog)["scaled"]["key"] != first["key"]
    assert set(first["inputs"]) == {"values", "factor"}


def test_keys_are_kept_next_to_the_file_and_absent_ones_read_as_none(tmp_path):
    artifact = tmp_path / "deep" / "vocabulary.json"
    assert read_key(artifact) is None
    write_key(artifact, {"key": "abc", "node": "fit"})
    assert sidecar(artifact).name == "vocabulary.json.provenance.json"
    assert read_key(artifact) == "abc"
    assert [path.name for path in sidecar(artifact).parent.iterdir()] == [
        "vocabulary.json.provenance.json"
    ]
    sidecar(artifact).write_text("{trunc")
    assert read_key(artifact) is None


def test_the_catalog_reports_a_stale_artifact_missing_until_it_is_saved(tmp_path):
    catalog = _catalog(tmp_path, 2)
    catalog.save("scaled", [1])
    catalog.mark_stale(["scaled"])
    assert not catalog.exists("scaled")
    assert catalog.exists("raw")
    catalog.save("scaled", [2])
    assert catalog.exists("scaled")


def test_only_missing_outputs_recomputes_exactly_what_a_parameter_reaches(tmp_path):
    assert _run(tmp_path, 2, only_missing=False) == {"scale", "total"}
    record = json.loads(sidecar(tmp_path / "scaled.json").read_text())
    assert record["node"] == "scale" and set(record["inputs"]) == {"values", "factor"}
    assert _run(tmp_path, 2, only_missing=True) == set()
    assert _run(tmp_path, 3, only_missing=True) == {"scale", "total"}
    assert json.loads((tmp_path / "total.json").read_text()) == 18
    assert _run(tmp_path, 3, only_missing=True) == set()


def test_a_changed_raw_file_reaches_what_is_built_on_it(tmp_path):
    _run(tmp_path, 2, only_missing=False)
    (tmp_path / "raw.json").write_text("[10, 20, 30, 40]")
    assert _run(tmp_path, 2, only_missing=True) == {"scale", "total"}
    assert json.loads((tmp_path / "total.json").read_text()) == 200


def test_an_artifact_without_a_key_is_recomputed(tmp_path):
    _run(tmp_path, 2, only_missing=False)
    sidecar(tmp_path / "total.json").unlink()
    assert _run(tmp_path, 2, only_missing=True) == {"total"}


def test_a_catalog_that_cannot_mark_stale_artifacts_stops_the_run(tmp_path):
    _run(tmp_path, 2, only_missing=False)
    plain = DataCatalog(dict(_catalog(tmp_path, 5).items()))
    with pytest.raises(RuntimeError, match=r"would reuse these: scaled, total"):
        ProvenanceHooks().before_pipeline_run(
            {"only_missing_outputs": True}, _pipeline(), plain
        )
