"""Fixtures of the batch_predict tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_predict_helpers import NEW, OLD, haiku_model
from kedro.io.core import Version

from agnews_pipeline.datasets import HaikuModelDataset


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """glove_haiku.mean saved twice (OLD: seed 0, NEW: seed 1), glove_haiku.sum once."""
    models = tmp_path_factory.mktemp("06_models")
    saves = (("mean", OLD, 0), ("mean", NEW, 1), ("sum", OLD, 2))
    for approach, version, seed in saves:
        HaikuModelDataset(
            filepath=str(models / "glove_haiku" / approach / "model.npz"),
            version=Version(None, version),
        ).save(haiku_model(seed))
    return models
