"""What every benchmark script shares: run a command and measure its time and memory."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

# tools/ is not installed: the project root puts it on the path for every benchmark,
# each of which imports this module before tools.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.sandbox import PROJECT_ROOT  # noqa: E402

HAND_WRITTEN_MARKER = "## Remarks (hand-written, kept when the script rewrites the file)"
_CPUINFO = Path("/proc/cpuinfo")


def hand_written_remarks(results: Path) -> str:
    """The hand-written section of an earlier results file (with its heading), or ''."""
    if not results.exists():
        return ""
    text = results.read_text(encoding="utf-8")
    index = text.find(HAND_WRITTEN_MARKER)
    return "" if index < 0 else "\n" + text[index:]


def cpu_model(cpuinfo: str) -> str | None:
    """The ``model name`` of the first processor in ``/proc/cpuinfo`` text, if any."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def machine_description() -> str:
    """CPU model, core count and Python version, for a results file's setting line."""
    try:
        model = cpu_model(_CPUINFO.read_text(encoding="utf-8"))
    except OSError:
        model = None
    # platform.processor() is often empty on Linux: /proc/cpuinfo names the CPU.
    name = model or platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores, Python {platform.python_version()}"


def data_settings(data: str) -> tuple[dict[str, str], list[str]]:
    """Environment variables and ``kedro run`` options for ``--data full|sample``.

    The full data is the official release in ``AGNEWS_DATA_DIR`` (default
    ``../shared/data/ag_news``); without its ``train.csv`` the benchmark stops, saying
    how to point it at one.
    """
    if data != "full":
        return {}, []
    source = Path(
        os.environ.get("AGNEWS_DATA_DIR", PROJECT_ROOT.parent / "shared/data/ag_news")
    )
    if not (source / "train.csv").exists():
        sys.exit(
            f"train.csv is absent from {source}: the full-data benchmark needs the "
            "official 120,000-row train split. Set AGNEWS_DATA_DIR to a folder "
            "holding train.csv and test.csv, or run with --data sample."
        )
    return {"AGNEWS_DATA_DIR": str(source.resolve())}, ["--env=full"]


def run_measured(
    command: list[str], cwd: Path, env: dict[str, str], drop: str | None = None
) -> tuple[float, float, str]:
    """Run ``command`` with ``env`` added (and the variable ``drop`` removed).

    Returns:
        Wall seconds, the peak resident memory (MiB) of its whole process tree,
        sampled every 50 ms, and its standard output. Exits with the command's
        standard error when it fails.
    """
    environment = {key: value for key, value in os.environ.items() if key != drop}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**environment, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    watched = psutil.Process(process.pid)

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            try:
                tree = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate()
    watcher.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr[-5000:]}")
    return seconds, peak, stdout
