"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from agnews_pipeline.atomic_files import install as install_atomic_file_writes
from tools.sandbox import copy_project, run_kedro

# Datasets built by tests write as they do in a Kedro run, where settings.py installs this.
install_atomic_file_writes()

# `kedro run` of every pipeline in a few minutes: two epochs per approach and a
# smaller LIME sample. The numbers are not the point; the artifacts are.
QUICK_EPOCHS = 2
QUICK_LIME_SAMPLES = 100
# The fine-tuned transformer baseline: a few steps, not an epoch of minutes.
QUICK_BASELINES = "baselines.minilm_finetuned.options.max_steps=4"


def quick_params() -> str:
    """The ``--params`` value that makes every approach train briefly."""
    from agnews_pipeline.approaches import every_approach  # noqa: PLC0415

    approaches = ",".join(
        f"{approach.namespace}.{key}"
        for approach in every_approach()
        for key in (
            f"training.epochs={QUICK_EPOCHS}",
            f"explanation.num_samples={QUICK_LIME_SAMPLES}",
        )
    )
    return f"{approaches},{QUICK_BASELINES}"


@pytest.fixture(scope="session", name="quick_params")
def quick_params_fixture() -> str:
    """``quick_params()``, for tests that re-run with the same parameters."""
    return quick_params()


@pytest.fixture(scope="session", name="quick_baselines")
def quick_baselines_fixture() -> str:
    """The ``--params`` value for a run of the baselines alone (``--pipelines=reporting``)."""
    return QUICK_BASELINES


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory) -> Path:
    """A fresh copy of the project, shared by the end-to-end tests of a session."""
    return copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """A project copy where `kedro run` (every pipeline, then the report) has finished."""
    project = copy_project(tmp_path_factory.mktemp("default_run") / "project")
    result = run_kedro(
        project, "run", "--params", quick_params(), env={"OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return project
