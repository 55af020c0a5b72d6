"""HaikuModelDataset: one pickle-free .npz per model, exact round trips, clear errors."""

import json

import jax
import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import HaikuModelDataset, NumpyDataset
from agnews_pipeline.pipelines.glove_haiku.models import (
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
)


@pytest.fixture(scope="module")
def classifier():
    glove = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    glove[0] = 0.0
    config = GloveHaikuConfig(pooling="mean", hidden_units=5)
    ids = np.zeros((1, 4), dtype=np.int32)
    params = build_network(config, glove).init(jax.random.PRNGKey(0), ids)
    return GloveHaikuClassifier(config=config, params=jax.tree.map(np.asarray, params))


TOKEN_IDS = np.array([[1, 2, 0, 0], [6, 5, 4, 3]], dtype=np.int32)


def _assert_same_model(loaded, original):
    assert isinstance(loaded, GloveHaikuClassifier)
    assert loaded.backend == "haiku"
    assert loaded.config == original.config
    assert jax.tree.structure(loaded.params) == jax.tree.structure(original.params)
    for got, want in zip(
        jax.tree.leaves(loaded.params), jax.tree.leaves(original.params), strict=True
    ):
        assert got.dtype == want.dtype
        assert got.tobytes() == want.tobytes()
    np.testing.assert_array_equal(
        loaded.predict_proba(TOKEN_IDS, None), original.predict_proba(TOKEN_IDS, None)
    )


def test_round_trip_is_exact(tmp_path, classifier):
    dataset = HaikuModelDataset(filepath=str(tmp_path / "model.npz"))
    assert not dataset.exists()
    dataset.save(classifier)
    assert dataset.exists()
    _assert_same_model(dataset.load(), classifier)


def test_file_layout_is_flat_arrays_and_a_json_config_without_pickle(
    tmp_path, classifier
):
    path = tmp_path / "model.npz"
    HaikuModelDataset(filepath=str(path)).save(classifier)
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == {
            "__config__",
            "params/embed/embeddings",
            "params/linear/w",
            "params/linear/b",
            "params/linear_1/w",
            "params/linear_1/b",
        }
        config = archive["__config__"]
        assert config.shape == () and config.dtype.kind == "U"
        assert json.loads(str(config)) == {
            "pooling": "mean",
            "hidden_units": 5,
            "num_classes": 4,
        }
        assert archive["params/linear/w"].shape == (3, 5)


def test_versioned_saves_load_the_latest(tmp_path, classifier):
    filepath = str(tmp_path / "06_models" / "model.npz")
    dataset = HaikuModelDataset(filepath=filepath, version=Version(None, None))
    dataset.save(classifier)
    versions = list((tmp_path / "06_models" / "model.npz").iterdir())
    assert len(versions) == 1
    assert (versions[0] / "model.npz").is_file()
    retrained = GloveHaikuClassifier(
        config=classifier.config,
        params=jax.tree.map(lambda leaf: leaf + np.float32(1), classifier.params),
    )
    HaikuModelDataset(filepath=filepath, version=Version(None, None)).save(retrained)
    latest = HaikuModelDataset(filepath=filepath, version=Version(None, None)).load()
    _assert_same_model(latest, retrained)
    pinned = HaikuModelDataset(
        filepath=filepath, version=Version(versions[0].name, None)
    )
    _assert_same_model(pinned.load(), classifier)


def test_corrupt_file_raises_a_dataset_error(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"definitely not a zip archive")
    with pytest.raises(DatasetError, match="not a readable .npz model archive"):
        HaikuModelDataset(filepath=str(path)).load()


def test_other_npz_archives_are_rejected(tmp_path):
    path = tmp_path / "features.npz"
    NumpyDataset(filepath=str(path)).save({"token_ids": np.zeros((2, 3), np.int32)})
    with pytest.raises(DatasetError, match="not a Haiku model.*token_ids"):
        HaikuModelDataset(filepath=str(path)).load()


def test_invalid_config_is_reported(tmp_path, classifier):
    path = tmp_path / "model.npz"
    arrays = {"params/linear/w": np.zeros((3, 5), np.float32)}
    np.savez(path, __config__=np.array('{"pooling": "max"}'), **arrays)
    with pytest.raises(DatasetError, match="invalid model configuration"):
        HaikuModelDataset(filepath=str(path)).load()


def test_saving_something_else_fails_and_leaves_no_file(tmp_path):
    dataset = HaikuModelDataset(filepath=str(tmp_path / "model.npz"))
    with pytest.raises(DatasetError, match="saves a GloveHaikuClassifier"):
        dataset.save({"linear": {"w": np.zeros(2)}})
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no file"):
        HaikuModelDataset(filepath=str(tmp_path / "absent.npz")).load()
