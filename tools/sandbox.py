"""A scratch copy of the project to run the real CLI in (benchmarks, end-to-end tests).

The copy shares the installed source but has its own ``data/``, so runs there never touch
the working project's artifacts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).with_name("kedro"))


def copy_project(destination: Path) -> Path:
    """Copy the configuration, the bundled data sets and the project metadata."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("conf", "pyproject.toml", ".telemetry"):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("local"))
        else:
            shutil.copy2(source, destination / name)
    (destination / "conf" / "local").mkdir()
    # The bundled sample (base) and real-data subset (`--env=subset`).
    for bundled in ("ag_news_sample", "ag_news_subset"):
        shutil.copytree(
            PROJECT_ROOT / "data" / "01_raw" / bundled,
            destination / "data" / "01_raw" / bundled,
        )
    # bootstrap_project wants `src/` inside the project (a link is refused).
    shutil.copytree(
        PROJECT_ROOT / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return destination


def latest(path: Path) -> Path:
    """The newest file of a versioned dataset (``path/<version>/<name>``), else ``path``.

    Kedro's version strings are UTC timestamps, so they sort in time order.
    """
    if not path.is_dir():
        return path
    versions = sorted(child for child in path.iterdir() if (child / path.name).is_file())
    if not versions:
        raise FileNotFoundError(f"no saved version under '{path}'")
    return versions[-1] / path.name


def run_kedro(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """Run the ``kedro`` CLI of this environment in ``project``."""
    return subprocess.run(
        [KEDRO, *args],
        cwd=project,
        # Wide columns keep rich from wrapping the log lines callers read.
        env={**os.environ, "COLUMNS": "300", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
