"""NodeResourceHooks: per-node wall time and peak memory, kept in the catalog."""

from __future__ import annotations

import json

import numpy as np
from kedro.io import DataCatalog
from kedro.pipeline import Node

from agnews_pipeline.datasets import NodeRecordsDataset
from agnews_pipeline.hooks import NodeResourceHooks, peak_memory_mib, reset_peak_memory


def _allocate(megabytes: int) -> int:
    block = np.ones(megabytes * 1024 * 1024, dtype=np.uint8)
    return int(block.sum() // (1024 * 1024))


def _run(hooks: NodeResourceHooks, node: Node, catalog: DataCatalog, run_id: str) -> None:
    hooks.before_pipeline_run({"run_id": run_id}, None, catalog)
    hooks.before_node_run(node)
    node.run({"params:megabytes": 300} if node.inputs else {})
    hooks.after_node_run(node)


def test_peak_memory_resets_per_node():
    assert reset_peak_memory(), "Linux should let /proc/self/clear_refs reset VmHWM"
    _allocate(200)
    high = peak_memory_mib()
    assert reset_peak_memory()
    low = peak_memory_mib()
    assert high - low > 150


def test_records_merge_into_the_catalog_dataset_across_runs(tmp_path):
    folder = tmp_path / "node_resources"
    (folder / "old_node").mkdir(parents=True)
    (folder / "old_node" / "run-0.json").write_text(
        json.dumps({"node": "old_node", "seconds": 1.0, "finished_at": "2026-01-01T00:00:00+00:00"})
    )
    dataset = NodeRecordsDataset(path=str(folder))
    catalog = DataCatalog({"node_resources": dataset})
    big = Node(_allocate, "params:megabytes", "allocated", name="allocate_node")
    small = Node(lambda: 1, None, "one", name="small_node")

    hooks = NodeResourceHooks()
    _run(hooks, big, catalog, "run-1")
    _run(hooks, small, catalog, "run-2")

    records = dataset.load()["nodes"]
    assert list(records) == ["allocate_node", "old_node", "small_node"]
    assert records["old_node"] == {"seconds": 1.0, "finished_at": "2026-01-01T00:00:00+00:00"}
    assert records["allocate_node"]["run_id"] == "run-1"
    assert records["allocate_node"]["peak_memory_scope"] == "node"
    # The 300 MB block shows in its own node's peak, not in the next node's.
    assert records["allocate_node"]["peak_memory_mib"] - records["small_node"]["peak_memory_mib"] > 200
    assert records["small_node"]["seconds"] < records["allocate_node"]["seconds"] + 1
    # One file per node and run: the hook never rewrites another node's record.
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json")) == [
        "allocate_node/run-1.json",
        "old_node/run-0.json",
        "small_node/run-2.json",
    ]


def test_parallel_sessions_keep_each_others_records(tmp_path):
    # Two Airflow tasks: each its own hooks, started before either node finishes.
    catalog = DataCatalog({"node_resources": NodeRecordsDataset(path=str(tmp_path))})
    first, second = NodeResourceHooks(), NodeResourceHooks()
    first.before_pipeline_run({"run_id": "task-a"}, None, catalog)
    second.before_pipeline_run({"run_id": "task-b"}, None, catalog)
    node_a = Node(lambda: 1, None, "a", name="node_a")
    node_b = Node(lambda: 2, None, "b", name="node_b")
    first.before_node_run(node_a)
    second.before_node_run(node_b)
    second.after_node_run(node_b)
    first.after_node_run(node_a)
    records = catalog.load("node_resources")["nodes"]
    assert {name: record["run_id"] for name, record in records.items()} == {
        "node_a": "task-a",
        "node_b": "task-b",
    }


def test_a_rerun_replaces_the_node_record_it_reports(tmp_path):
    dataset = NodeRecordsDataset(path=str(tmp_path))
    catalog = DataCatalog({"node_resources": dataset})
    node = Node(lambda: 1, None, "one", name="small_node")
    hooks = NodeResourceHooks()
    _run(hooks, node, catalog, "2026-01-01T00.00.00.000Z")
    _run(hooks, node, catalog, "2026-01-01T00.00.01.000Z")
    assert dataset.load()["nodes"]["small_node"]["run_id"] == "2026-01-01T00.00.01.000Z"
    assert len(list(tmp_path.rglob("*.json"))) == 2


def test_without_a_catalog_entry_the_hook_only_logs(tmp_path, caplog):
    hooks = NodeResourceHooks()
    node = Node(lambda: 1, None, "one", name="small_node")
    with caplog.at_level("INFO", logger="agnews_pipeline.hooks"):
        _run(hooks, node, DataCatalog({}), "run-1")
    assert any(message.startswith("small_node took") for message in caplog.messages)
    assert not list(tmp_path.iterdir())
