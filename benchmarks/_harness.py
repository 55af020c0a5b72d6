"""What every benchmark script shares: run a command and measure its time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil


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
