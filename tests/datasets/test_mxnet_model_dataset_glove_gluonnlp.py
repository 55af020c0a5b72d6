"""MXNetModelDataset with glove_gluonnlp models: exact round trips, versions, errors."""

import json
import zipfile

import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import MXNetModelDataset
from agnews_pipeline.pipelines.glove_gluonnlp.models import (
    GloveGluonArchitecture,
    GloveGluonClassifier,
)
from agnews_pipeline.pipelines.glove_gluonnlp.train import init_network

TOKEN_IDS = np.array([[1, 2, 0, 0], [6, 5, 4, 3], [0, 0, 0, 0]], dtype=np.int32)


def _classifier(pooling="mean", seed=0):
    glove = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    glove[0] = 0.0
    architecture = GloveGluonArchitecture(
        pooling=pooling, hidden_units=(5, 4), vocab_size=7, embed_dim=3, max_tokens=4
    )
    return GloveGluonClassifier(architecture, init_network(architecture, glove, seed))


@pytest.fixture(scope="module")
def classifier():
    return _classifier()


def _assert_same_model(loaded, original):
    assert isinstance(loaded, GloveGluonClassifier)
    assert loaded.backend == "mxnet" and loaded.kind == "glove_gluonnlp"
    assert loaded.architecture == original.architecture
    arrays = original.parameter_arrays()
    for name, value in loaded.parameter_arrays().items():
        assert value.dtype == arrays[name].dtype
        assert value.tobytes() == arrays[name].tobytes(), name
    np.testing.assert_array_equal(
        loaded.predict_proba(TOKEN_IDS, None), original.predict_proba(TOKEN_IDS, None)
    )


@pytest.mark.parametrize("pooling", ["flatten", "mean", "sum"])
def test_round_trip_is_exact(tmp_path, pooling):
    original = _classifier(pooling)
    dataset = MXNetModelDataset(filepath=str(tmp_path / "model.zip"))
    assert not dataset.exists()
    dataset.save(original)
    assert dataset.exists()
    _assert_same_model(dataset.load(), original)


def test_archive_holds_the_architecture_and_gluon_parameters(tmp_path, classifier):
    path = tmp_path / "model.zip"
    MXNetModelDataset(filepath=str(path)).save(classifier)
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"config.json", "model.params"}
        header = json.loads(archive.read("config.json"))
    assert header["kind"] == "glove_gluonnlp"
    assert header["model"] == {
        "pooling": "mean",
        "hidden_units": [5, 4],
        "num_classes": 4,
        "vocab_size": 7,
        "embed_dim": 3,
        "max_tokens": 4,
    }


def test_versioned_saves_load_the_latest(tmp_path, classifier):
    filepath = str(tmp_path / "06_models" / "model.zip")
    MXNetModelDataset(filepath=filepath, version=Version(None, None)).save(classifier)
    versions = list((tmp_path / "06_models" / "model.zip").iterdir())
    assert len(versions) == 1 and (versions[0] / "model.zip").is_file()
    retrained = _classifier(seed=1)
    MXNetModelDataset(filepath=filepath, version=Version(None, None)).save(retrained)
    latest = MXNetModelDataset(filepath=filepath, version=Version(None, None)).load()
    _assert_same_model(latest, retrained)
    pinned = MXNetModelDataset(
        filepath=filepath, version=Version(versions[0].name, None)
    )
    _assert_same_model(pinned.load(), classifier)


def test_corrupt_file_raises_a_dataset_error(tmp_path):
    path = tmp_path / "model.zip"
    path.write_bytes(b"definitely not a zip archive")
    with pytest.raises(DatasetError, match="not a readable model archive"):
        MXNetModelDataset(filepath=str(path)).load()


def test_parameters_that_do_not_fit_the_architecture_are_reported(tmp_path, classifier):
    path = tmp_path / "model.zip"
    MXNetModelDataset(filepath=str(path)).save(classifier)
    with zipfile.ZipFile(path) as archive:
        params = archive.read("model.params")
        header = json.loads(archive.read("config.json"))
    header["model"]["pooling"] = "flatten"  # the first dense layer is then wider
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(header))
        archive.writestr("model.params", params)
    with pytest.raises(DatasetError, match="'glove_gluonnlp' model that does not load"):
        MXNetModelDataset(filepath=str(path)).load()
