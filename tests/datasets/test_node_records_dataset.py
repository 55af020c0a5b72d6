"""NodeRecordsDataset: one file per node and run, concurrent writers, latest record wins."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from kedro.io import DatasetError

from agnews_pipeline.datasets import NodeRecordsDataset

WRITERS = 4
NODES_PER_WRITER = 15


def _record(node: str, finished_at: str, run_id: str = "run-1", **extra) -> dict:
    return {"node": node, "run_id": run_id, "finished_at": finished_at, "seconds": 1.0, **extra}


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def _write_records(folder: str, writer: int, barrier) -> None:
    """One writer process: its own nodes, plus the node every writer records."""
    dataset = NodeRecordsDataset(path=folder)
    barrier.wait()  # all writers start together, to overlap as much as possible
    for index in range(NODES_PER_WRITER):
        dataset.save(_record(f"writer{writer}.node{index}", f"2026-01-01T00:00:{index:02d}+00:00", f"run-{writer}"))
        dataset.save(
            _record("shared", f"2026-01-01T01:{writer:02d}:{index:02d}+00:00", f"run-{writer}-{index}", writer=writer)
        )


def _die_while_writing(folder: str) -> None:
    """A writer killed halfway through a record: no cleanup runs (os._exit)."""
    dataset = NodeRecordsDataset(path=folder)
    real_open = dataset._fs.open  # noqa: SLF001 - simulating a crash inside the write

    def open_then_die(path, mode="rb", **kwargs):
        handle = real_open(path, mode, **kwargs)
        if mode != "wb":  # fsspec opens text files through a binary "wb" open
            return handle
        handle.write(b'{"node": "victim", "run_id": "run-2", "fini')
        handle.flush()
        os._exit(0)

    dataset._fs.open = open_then_die  # noqa: SLF001
    dataset.save(_record("victim", "2026-01-02T00:00:00+00:00", "run-2"))


def test_concurrent_writer_processes_lose_no_record(tmp_path):
    folder = str(tmp_path / "node_resources")
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    writers = [
        context.Process(target=_write_records, args=(folder, writer, barrier))
        for writer in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0

    nodes = NodeRecordsDataset(path=folder).load()["nodes"]
    expected = {f"writer{w}.node{i}" for w in range(WRITERS) for i in range(NODES_PER_WRITER)}
    assert set(nodes) == expected | {"shared"}
    # The shared node's latest record is the last writer's last one, whoever saved last.
    assert nodes["shared"]["writer"] == WRITERS - 1
    assert nodes["shared"]["run_id"] == f"run-{WRITERS - 1}-{NODES_PER_WRITER - 1}"
    assert "node" not in nodes["shared"]
    assert not any(".partial-" in name for name in _files(tmp_path / "node_resources"))


def test_the_latest_record_of_a_node_wins_whatever_the_order_of_saving(tmp_path):
    dataset = NodeRecordsDataset(path=str(tmp_path))
    dataset.save(_record("train", "2026-01-02T00:00:00.000002+00:00", "run-b", seconds=2.0))
    dataset.save(_record("train", "2026-01-01T00:00:00+00:00", "run-a", seconds=1.0))
    dataset.save(_record("evaluate", "2026-01-01T00:00:00+00:00", "run-a"))
    loaded = dataset.load()
    assert loaded == {
        "nodes": {
            "evaluate": {"run_id": "run-a", "finished_at": "2026-01-01T00:00:00+00:00", "seconds": 1.0},
            "train": {"run_id": "run-b", "finished_at": "2026-01-02T00:00:00.000002+00:00", "seconds": 2.0},
        }
    }
    assert _files(tmp_path) == ["evaluate/run-a.json", "train/run-a.json", "train/run-b.json"]
    # The same node and run again replaces that run's record.
    dataset.save(_record("train", "2026-01-03T00:00:00+00:00", "run-a", seconds=3.0))
    assert dataset.load()["nodes"]["train"]["seconds"] == 3.0
    assert len(_files(tmp_path)) == 3


def test_a_writer_killed_mid_record_leaves_nothing_load_reads(tmp_path):
    folder = str(tmp_path)
    NodeRecordsDataset(path=folder).save(_record("victim", "2026-01-01T00:00:00+00:00"))
    process = multiprocessing.get_context("fork").Process(target=_die_while_writing, args=(folder,))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    leftovers = _files(tmp_path)
    assert any(name.startswith("victim/run-2.json.partial-") for name in leftovers), leftovers
    assert "victim/run-2.json" not in leftovers
    nodes = NodeRecordsDataset(path=folder).load()["nodes"]
    assert nodes["victim"]["run_id"] == "run-1"


def test_a_failed_write_cleans_up_its_partial_file(tmp_path, monkeypatch):
    dataset = NodeRecordsDataset(path=str(tmp_path))
    with pytest.raises(DatasetError, match="record of node 'bad' cannot be stored as JSON"):
        dataset.save(_record("bad", "2026-01-01T00:00:00+00:00", seconds=float("nan")))

    def fail_on_rename(*args, **kwargs):
        raise OSError("disk full")

    # A failure between writing the temporary file and renaming it into place.
    monkeypatch.setattr(os, "replace", fail_on_rename)
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(_record("good", "2026-01-01T00:00:00+00:00"))
    assert _files(tmp_path) == []
    assert dataset.load() == {"nodes": {}}


def test_unsafe_node_names_get_distinct_files(tmp_path):
    dataset = NodeRecordsDataset(path=str(tmp_path))
    names = ["train([a,b]) -> [c]", "train([a,b]) _> [c]", "../escape", "x" * 300]
    for name in names:
        dataset.save(_record(name, "2026-01-01T00:00:00+00:00", run_id="2026-01-01T00.00.00.000Z"))
    assert set(dataset.load()["nodes"]) == set(names)
    assert len(_files(tmp_path)) == len(names)
    assert all(Path(tmp_path, name).resolve().is_relative_to(tmp_path) for name in _files(tmp_path))


def test_records_without_a_run_id_do_not_overwrite_each_other(tmp_path):
    dataset = NodeRecordsDataset(path=str(tmp_path))
    dataset.save(_record("node", "2026-01-01T00:00:00+00:00", run_id=None))
    dataset.save(_record("node", "2026-01-02T00:00:00+00:00", run_id=None))
    assert len(_files(tmp_path)) == 2
    assert dataset.load()["nodes"]["node"]["finished_at"] == "2026-01-02T00:00:00+00:00"


def test_an_empty_or_missing_folder_loads_as_no_records(tmp_path):
    dataset = NodeRecordsDataset(path=str(tmp_path / "absent"))
    assert not dataset.exists()
    assert dataset.load() == {"nodes": {}}
    dataset.save(_record("node", "2026-01-01T00:00:00+00:00"))
    assert dataset.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nodes": {}}, r"one node's record at a time: expected a dict with a 'node' name, got dict"),
        ([1, 2], r"expected a dict with a 'node' name, got list"),
        (_record("n", "yesterday"), r"'finished_at' of node 'n' is 'yesterday'; expected an ISO 8601"),
    ],
)
def test_bad_records_are_refused_with_what_was_expected(tmp_path, data, message):
    with pytest.raises(DatasetError, match=message):
        NodeRecordsDataset(path=str(tmp_path)).save(data)


def test_a_corrupt_record_file_is_named(tmp_path):
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "run-1.json").write_text('{"node": ')
    with pytest.raises(DatasetError, match=r"run-1.json' is not valid JSON"):
        NodeRecordsDataset(path=str(tmp_path)).load()
    (tmp_path / "node" / "run-1.json").write_text(json.dumps({"seconds": 1}))
    with pytest.raises(DatasetError, match=r"run-1.json' has no 'node' name"):
        NodeRecordsDataset(path=str(tmp_path)).load()
