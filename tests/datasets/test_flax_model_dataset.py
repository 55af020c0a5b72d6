"""FlaxModelDataset: one pickle-free .msgpack per model, exact round trips, clear errors."""

import json

import jax
import numpy as np
import pytest
from flax.serialization import msgpack_restore, msgpack_serialize
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import FlaxModelDataset
from agnews_pipeline.pipelines.conv1d_flax.models import (
    Conv1DClassifier,
    Conv1DFlaxConfig,
    build_model,
)

TOKEN_IDS = np.array([[1, 2, 0, 0, 0, 0], [6, 5, 4, 3, 2, 1]], dtype=np.int32)


@pytest.fixture(scope="module")
def classifier():
    config = Conv1DFlaxConfig(
        architecture="double",
        embed_dim=4,
        conv_features=3,
        kernel_size=3,
        pool_window=2,
    )
    variables = jax.jit(build_model(config, 7).init)(jax.random.PRNGKey(0), TOKEN_IDS)
    params = jax.tree.map(np.asarray, variables["params"])
    return Conv1DClassifier(config=config, params=params)


def _assert_same_model(loaded, original):
    assert isinstance(loaded, Conv1DClassifier)
    assert loaded.backend == "flax"
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
    dataset = FlaxModelDataset(filepath=str(tmp_path / "model.msgpack"))
    assert not dataset.exists()
    dataset.save(classifier)
    assert dataset.exists()
    _assert_same_model(dataset.load(), classifier)


def test_file_is_msgpack_of_a_json_config_and_the_params(tmp_path, classifier):
    path = tmp_path / "model.msgpack"
    FlaxModelDataset(filepath=str(path)).save(classifier)
    state = msgpack_restore(path.read_bytes())
    assert set(state) == {"config", "params"}
    assert json.loads(state["config"]) == classifier.config.model_dump()
    assert set(state["params"]) == {"embed", "conv1", "conv2", "dense"}
    assert state["params"]["embed"]["embedding"].shape == (7, 4)
    assert state["params"]["conv2"]["kernel"].shape == (3, 3, 3)


def test_versioned_saves_load_the_latest(tmp_path, classifier):
    filepath = str(tmp_path / "06_models" / "model.msgpack")
    dataset = FlaxModelDataset(filepath=filepath, version=Version(None, None))
    dataset.save(classifier)
    versions = list((tmp_path / "06_models" / "model.msgpack").iterdir())
    assert len(versions) == 1
    assert (versions[0] / "model.msgpack").is_file()
    retrained = Conv1DClassifier(
        config=classifier.config,
        params=jax.tree.map(lambda leaf: leaf + np.float32(1), classifier.params),
    )
    FlaxModelDataset(filepath=filepath, version=Version(None, None)).save(retrained)
    latest = FlaxModelDataset(filepath=filepath, version=Version(None, None)).load()
    _assert_same_model(latest, retrained)
    pinned = FlaxModelDataset(
        filepath=filepath, version=Version(versions[0].name, None)
    )
    _assert_same_model(pinned.load(), classifier)


@pytest.mark.parametrize(
    "content", [b"definitely not msgpack", b"\xc1", b"", b"\x93\x01\x02"]
)
def test_corrupt_file_raises_a_dataset_error(tmp_path, content):
    path = tmp_path / "model.msgpack"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="FlaxModelDataset: .*model.msgpack"):
        FlaxModelDataset(filepath=str(path)).load()


def test_truncated_model_file_raises_a_dataset_error(tmp_path, classifier):
    path = tmp_path / "model.msgpack"
    FlaxModelDataset(filepath=str(path)).save(classifier)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DatasetError, match="not a readable .msgpack model file"):
        FlaxModelDataset(filepath=str(path)).load()


def test_other_msgpack_content_is_rejected(tmp_path):
    path = tmp_path / "model.msgpack"
    path.write_bytes(msgpack_serialize({"weights": np.zeros(3, np.float32)}))
    with pytest.raises(DatasetError, match="not a Flax model.*weights"):
        FlaxModelDataset(filepath=str(path)).load()


def test_invalid_config_is_reported(tmp_path):
    path = tmp_path / "model.msgpack"
    params = {"embed": {"embedding": np.zeros((3, 2), np.float32)}}
    path.write_bytes(
        msgpack_serialize({"config": '{"architecture": "triple"}', "params": params})
    )
    with pytest.raises(DatasetError, match="invalid model configuration"):
        FlaxModelDataset(filepath=str(path)).load()


def test_saving_something_else_fails_and_leaves_no_file(tmp_path):
    dataset = FlaxModelDataset(filepath=str(tmp_path / "model.msgpack"))
    with pytest.raises(DatasetError, match="saves a Conv1DClassifier"):
        dataset.save({"dense": {"kernel": np.zeros(2)}})
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no file"):
        FlaxModelDataset(filepath=str(tmp_path / "absent.msgpack")).load()
