"""NumpyDataset: exact round trips, versions, atomic saves, type errors."""

import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import NumpyDataset


def test_npy_round_trip_is_exact(tmp_path):
    matrix = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    dataset = NumpyDataset(filepath=str(tmp_path / "m.npy"))
    assert not dataset.exists()
    dataset.save(matrix)
    assert dataset.exists()
    loaded = dataset.load()
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, matrix)


def test_npz_round_trip_keeps_every_array_and_dtype(tmp_path):
    features = {
        "token_ids": np.arange(6, dtype=np.int32).reshape(2, 3),
        "lengths": np.array([3, 1], dtype=np.int32),
    }
    dataset = NumpyDataset(filepath=str(tmp_path / "f.npz"))
    dataset.save(features)
    loaded = dataset.load()
    assert loaded.keys() == features.keys()
    for key, value in features.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)


def test_wrong_type_fails_and_leaves_no_partial_file(tmp_path):
    with pytest.raises(DatasetError, match="expects a dict of arrays"):
        NumpyDataset(filepath=str(tmp_path / "f.npz")).save(np.zeros(2))
    with pytest.raises(DatasetError, match="expects an ndarray"):
        NumpyDataset(filepath=str(tmp_path / "m.npy")).save({"a": np.zeros(2)})
    assert list(tmp_path.iterdir()) == []


def test_versioned_saves_keep_every_version(tmp_path):
    filepath = str(tmp_path / "m.npy")
    NumpyDataset(filepath=filepath, version=Version(None, "2026-01-01T00.00.00.000Z")).save(
        np.zeros(2)
    )
    NumpyDataset(filepath=filepath, version=Version(None, "2026-01-02T00.00.00.000Z")).save(
        np.ones(2)
    )
    np.testing.assert_array_equal(NumpyDataset(filepath=filepath, version=Version(None, None)).load(), np.ones(2))
    first = NumpyDataset(filepath=filepath, version=Version("2026-01-01T00.00.00.000Z", None))
    np.testing.assert_array_equal(first.load(), np.zeros(2))
