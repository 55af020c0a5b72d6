"""PredictionsDataset (optional Parquet) and PickleModelDataset (versioned pickle)."""

import pandas as pd
from kedro.io.core import Version

from agnews_pipeline.datasets import PickleModelDataset, PredictionsDataset


def test_predictions_load_as_none_until_saved(tmp_path):
    dataset = PredictionsDataset(filepath=str(tmp_path / "p.parquet"), missing_ok=True)
    assert dataset.load() is None
    frame = pd.DataFrame({"row": [0, 1], "probability_world": [0.25, 0.5]})
    dataset.save(frame)
    pd.testing.assert_frame_equal(dataset.load(), frame)
    assert [path.name for path in tmp_path.iterdir()] == ["p.parquet"]


def test_pickled_model_is_versioned(tmp_path):
    path = str(tmp_path / "model.pkl")
    PickleModelDataset(filepath=path, version=Version(None, "v1")).save({"w": [1, 2]})
    PickleModelDataset(filepath=path, version=Version(None, "v2")).save({"w": [3]})
    assert PickleModelDataset(filepath=path, version=Version(None, None)).load() == {"w": [3]}
    assert PickleModelDataset(filepath=path, version=Version("v1", None)).load() == {"w": [1, 2]}
