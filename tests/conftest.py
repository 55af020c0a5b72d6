"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from agnews_pipeline.sandbox import copy_project


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory) -> Path:
    """A fresh copy of the project, shared by the end-to-end tests of a session."""
    return copy_project(tmp_path_factory.mktemp("project"))
