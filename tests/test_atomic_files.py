"""Every file a dataset writes appears whole or not at all (agnews_pipeline.atomic_files)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import fsspec
import matplotlib
import pandas as pd
import pytest
from kedro.io import DataCatalog, DatasetError, Version
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.partitions import PartitionedDataset

from agnews_pipeline.atomic_files import (
    PARTIAL_MARK,
    AtomicLocalFileSystem,
    partial_path,
)
from tools.sandbox import KEDRO, copy_project, run_kedro

matplotlib.use("Agg")

OLD = pd.DataFrame({"id": [1, 2], "label": ["World", "Sports"]})
NEW = pd.DataFrame({"id": [3, 4, 5], "label": ["Business", "Sci/Tech", "World"]})


def _files(folder: Path) -> list[str]:
    """Every file under ``folder``, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _dead_pid() -> str:
    """The id of a process that has ended."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return child.stdout.strip()


@pytest.fixture
def half_written(monkeypatch):
    """Make ``DataFrame.to_csv`` / ``to_parquet`` write half their output, then fail."""

    def patch(method: str) -> None:
        real = getattr(pd.DataFrame, method)

        def write_half_then_fail(self, *args, **kwargs):
            real(self.head(1), *args, **kwargs)
            raise OSError("disk full")

        monkeypatch.setattr(pd.DataFrame, method, write_half_then_fail)

    return patch


def test_the_local_filesystem_is_the_atomic_one():
    assert isinstance(fsspec.filesystem("file"), AtomicLocalFileSystem)
    assert isinstance(JSONDataset(filepath="x.json")._fs, AtomicLocalFileSystem)  # noqa: SLF001


def test_json_dataset_failing_mid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "vocabulary.json"
    dataset = JSONDataset(filepath=str(path))
    dataset.save({"the": 1})
    # json.dump writes '{"a": 1, "b": ' before it meets the object it cannot encode.
    with pytest.raises(DatasetError, match="not JSON serializable"):
        dataset.save({"a": 1, "b": object()})
    assert json.loads(path.read_text()) == {"the": 1}
    assert _files(tmp_path) == ["vocabulary.json"]


def test_csv_dataset_failing_mid_write_keeps_the_previous_file(tmp_path, half_written):
    path = tmp_path / "results.csv"
    dataset = CSVDataset(filepath=str(path), save_args={"index": False})
    dataset.save(OLD)
    half_written("to_csv")
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(NEW)
    pd.testing.assert_frame_equal(dataset.load(), OLD)
    assert _files(tmp_path) == ["results.csv"]


def test_parquet_dataset_failing_mid_write_leaves_no_file(tmp_path, half_written):
    half_written("to_parquet")
    dataset = ParquetDataset(filepath=str(tmp_path / "ag_news_train.parquet"))
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(NEW)
    assert not dataset.exists()
    assert _files(tmp_path) == []


def test_a_failed_versioned_save_never_becomes_the_latest_version(
    tmp_path, half_written
):
    path = tmp_path / "results.csv"
    CSVDataset(
        filepath=str(path), version=Version(None, "v1"), save_args={"index": False}
    ).save(OLD)
    half_written("to_csv")
    with pytest.raises(DatasetError, match="disk full"):
        CSVDataset(filepath=str(path), version=Version(None, "v2")).save(NEW)
    # The version folder may exist, but without its file Kedro does not see a version.
    assert _files(tmp_path) == ["results.csv/v1/results.csv"]
    latest = CSVDataset(filepath=str(path), version=Version(None, None))
    assert latest.resolve_load_version() == "v1"
    pd.testing.assert_frame_equal(latest.load(), OLD)


def test_a_versioned_plot_is_written_whole(tmp_path):
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure = plt.figure()
    dataset = MatplotlibDataset(
        filepath=str(tmp_path / "chart.png"), version=Version(None, "v1")
    )
    dataset.save(figure)
    written = tmp_path / "chart.png" / "v1" / "chart.png"
    assert written.read_bytes().startswith(b"\x89PNG")
    assert _files(tmp_path) == ["chart.png/v1/chart.png"]


def test_catalog_factory_and_partitioned_datasets_are_covered(tmp_path):
    catalog = DataCatalog.from_config(
        {
            "{tokenizer}_vocabulary": {
                "type": "json.JSONDataset",
                "filepath": str(tmp_path / "{tokenizer}" / "vocabulary.json"),
            },
            "batch_predictions": {
                "type": "partitions.PartitionedDataset",
                "path": str(tmp_path / "batch"),
                "dataset": "pandas.CSVDataset",
                "filename_suffix": ".csv",
            },
        }
    )
    catalog.save("keras_vocabulary", {"the": 1})
    with pytest.raises(DatasetError):
        catalog.save("keras_vocabulary", {"a": 1, "b": object()})
    assert json.loads((tmp_path / "keras" / "vocabulary.json").read_text()) == {
        "the": 1
    }
    assert isinstance(catalog.get("batch_predictions"), PartitionedDataset)
    catalog.save("batch_predictions", {"one": OLD, "two": NEW})
    assert _files(tmp_path) == [
        "batch/one.csv",
        "batch/two.csv",
        "keras/vocabulary.json",
    ]


def test_a_write_dropped_without_closing_is_discarded(tmp_path):
    fs = fsspec.filesystem("file")
    target = tmp_path / "coverage.json"
    target.write_text("previous")
    for mode in ("w", "wb"):
        handle = fs.open(str(target), mode)
        handle.write("half" if mode == "w" else b"half")
        del handle
    assert target.read_text() == "previous"
    assert _files(tmp_path) == ["coverage.json"]


def test_appends_and_reads_are_untouched(tmp_path):
    fs = fsspec.filesystem("file")
    target = str(tmp_path / "log.txt")
    with fs.open(target, "w") as handle:
        handle.write("a")
    with fs.open(target, "a") as handle:
        handle.write("b")
    with fs.open(target) as handle:
        assert handle.read() == b"ab"


def test_copies_are_atomic_too(tmp_path):
    fs = fsspec.filesystem("file", auto_mkdir=True)
    (tmp_path / "source.bin").write_bytes(b"x" * 10)
    fs.put_file(str(tmp_path / "source.bin"), str(tmp_path / "copy" / "target.bin"))
    assert (tmp_path / "copy" / "target.bin").read_bytes() == b"x" * 10
    assert _files(tmp_path) == ["copy/target.bin", "source.bin"]


def test_the_next_write_removes_temporaries_of_dead_writers_only(tmp_path):
    target = str(tmp_path / "vocabulary.json")
    dead_writer = partial_path(target).replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    live_writer = partial_path(target)  # this process: still alive
    young_unknown = f"{target}{PARTIAL_MARK}cafecafe"  # maybe another host's, in flight
    old_unknown = f"{target}{PARTIAL_MARK}deadbeef"
    for partial in (dead_writer, live_writer, young_unknown, old_unknown):
        Path(partial).write_text("half")
    two_hours_ago = time.time() - 7200
    os.utime(old_unknown, (two_hours_ago, two_hours_ago))

    JSONDataset(filepath=target).save({"the": 1})

    left = set(_files(tmp_path))
    assert left == {Path(p).name for p in (target, live_writer, young_unknown)}


def test_a_versioned_save_removes_the_version_folder_of_a_killed_save(tmp_path):
    path = tmp_path / "results.csv"
    killed = path / "v1"
    killed.mkdir(parents=True)
    partial = partial_path(str(killed / "results.csv"))
    Path(partial.replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")).write_text("id,la")
    CSVDataset(filepath=str(path), version=Version(None, "v2")).save(OLD)
    assert _files(tmp_path) == ["results.csv/v2/results.csv"]
    assert not killed.exists()


# A test-only sitecustomize: the run's first save of the watched file writes half of
# its JSON, flushes it, tells the test (a signal file) and then waits to be killed.
_BLOCK_INSIDE_SAVE = textwrap.dedent(
    """
    import json, os, pathlib, time

    _real_dump = json.dump

    def _dump(obj, fp, **kwargs):
        path = str(getattr(getattr(fp, "buffer", fp), "path", ""))
        if path.endswith(os.environ["AGNEWS_TEST_BLOCK_SAVE"]):
            text = json.dumps(obj, **kwargs)
            fp.write(text[: len(text) // 2])
            fp.flush()
            pathlib.Path(os.environ["AGNEWS_TEST_SAVING"]).write_text(path)
            time.sleep(3600)
        return _real_dump(obj, fp, **kwargs)

    json.dump = _dump
    """
)


@pytest.mark.slow
def test_a_run_killed_inside_a_save_leaves_no_truncated_file_and_is_redone(tmp_path):
    project = copy_project(tmp_path / "project")
    hooks = tmp_path / "block_inside_save"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_BLOCK_INSIDE_SAVE)
    saving = tmp_path / "saving"
    vocabulary = project / "data/04_feature/text_features/keras/vocabulary.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(hooks), os.environ.get("PYTHONPATH")])
        ),
        "AGNEWS_TEST_BLOCK_SAVE": "keras/vocabulary.json",
        "AGNEWS_TEST_SAVING": str(saving),
    }
    log = tmp_path / "killed_run.log"
    with log.open("w") as output:
        # Its own session: the kill reaches kedro and anything it started.
        run = subprocess.Popen(
            [KEDRO, "run", "--pipeline", "text_features"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600
            while (
                not saving.exists()
                and run.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert saving.exists(), log.read_text()[-6000:]

    # Half the JSON reached the disk, but only in the writer's temporary file.
    assert not vocabulary.exists()
    (partial,) = vocabulary.parent.glob(f"vocabulary.json{PARTIAL_MARK}*")
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial.read_text())
    assert (project / "data/03_primary/ag_news_train.parquet").exists()
    finished = {p.parent.name for p in vocabulary.parents[1].glob("*/vocabulary.json")}

    rerun = run_kedro(
        project, "run", "--pipeline", "text_features", "--only-missing-outputs"
    )
    log = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, log[-6000:]
    ran = set(re.findall(r"(\S+) took [\d.]+ s", log))
    assert "text_features.keras.fit_vocabulary_node" in ran, log[-6000:]
    # What the killed run completed is not redone: ingestion, the other vocabularies.
    assert all(name.startswith("text_features.") for name in ran), sorted(ran)
    assert not {f"text_features.{t}.fit_vocabulary_node" for t in finished} & ran
    vocabulary_json = json.loads(vocabulary.read_text())
    assert vocabulary_json
    # The killed writer's temporary went with the next write of the same file; the
    # vocabulary's provenance key sits beside it.
    assert sorted(p.name for p in vocabulary.parent.iterdir()) == [
        "vocabulary.json",
        "vocabulary.json.provenance.json",
    ]
