"""MXNetModelDataset: config.json + model.params in a zip, exact round trips, errors."""

import json
import zipfile

import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import MXNetModelDataset
from agnews_pipeline.datasets.mxnet_model_dataset import LOADERS, resolve_loader
from agnews_pipeline.pipelines.lstm_mxnet.models import (
    LSTMClassifier,
    LSTMConfig,
    build_network,
    initialize_network,
    network_parameters,
)

TOKEN_IDS = np.array([[1, 2, 0, 0], [6, 5, 4, 3], [0, 0, 0, 0]], dtype=np.int32)
LENGTHS = np.array([2, 4, 0], dtype=np.int32)


def _classifier(seed=0, **options):
    config = LSTMConfig(hidden_sizes=[5], embed_dim=3, dense_units=4, **options)
    network = build_network(config, 7)
    initialize_network(network, seed)
    return LSTMClassifier(config=config, params=network_parameters(network))


@pytest.fixture(scope="module")
def classifier():
    return _classifier(bidirectional=True)


def _assert_same_model(loaded, original):
    assert isinstance(loaded, LSTMClassifier)
    assert (loaded.backend, loaded.kind) == ("mxnet", "lstm_mxnet")
    assert loaded.config == original.config
    assert set(loaded.params) == set(original.params)
    for name, value in original.params.items():
        assert loaded.params[name].dtype == value.dtype
        assert loaded.params[name].tobytes() == value.tobytes(), name
    np.testing.assert_array_equal(
        loaded.predict_proba(TOKEN_IDS, LENGTHS),
        original.predict_proba(TOKEN_IDS, LENGTHS),
    )


def test_round_trip_is_exact(tmp_path, classifier):
    dataset = MXNetModelDataset(filepath=str(tmp_path / "model.zip"))
    assert not dataset.exists()
    dataset.save(classifier)
    assert dataset.exists()
    _assert_same_model(dataset.load(), classifier)


def test_file_layout_is_a_json_config_and_gluon_parameters(tmp_path, classifier):
    path = tmp_path / "model.zip"
    MXNetModelDataset(filepath=str(path)).save(classifier)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "model.params"]
        header = json.loads(archive.read("config.json"))
        (tmp_path / "model.params").write_bytes(archive.read("model.params"))
    assert header == {
        "kind": "lstm_mxnet",
        "format": 1,
        "model": classifier.config.model_dump(mode="json"),
    }
    # model.params is what Gluon's save_parameters writes: load_parameters reads it.
    network = build_network(classifier.config, 7)
    network.load_parameters(str(tmp_path / "model.params"))
    for name, value in network_parameters(network).items():
        np.testing.assert_array_equal(value, classifier.params[name])


def test_versioned_saves_load_the_latest(tmp_path, classifier):
    filepath = str(tmp_path / "06_models" / "model.zip")
    dataset = MXNetModelDataset(filepath=filepath, version=Version(None, None))
    dataset.save(classifier)
    versions = list((tmp_path / "06_models" / "model.zip").iterdir())
    assert len(versions) == 1
    assert (versions[0] / "model.zip").is_file()
    retrained = _classifier(seed=1, bidirectional=True)
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


def _zip(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name.replace("_", "."), data)


def test_corrupt_parameters_raise_a_dataset_error(tmp_path, classifier):
    path = tmp_path / "model.zip"
    header = {"kind": "lstm_mxnet", "format": 1, "model": classifier.config_dict()}
    _zip(path, config_json=json.dumps(header), model_params=b"\x00garbage")
    with pytest.raises(DatasetError, match="'lstm_mxnet' model that does not load"):
        MXNetModelDataset(filepath=str(path)).load()


def test_parameters_of_another_architecture_are_refused(tmp_path, classifier):
    path = tmp_path / "model.zip"
    MXNetModelDataset(filepath=str(path)).save(_classifier())  # unidirectional
    with zipfile.ZipFile(path) as archive:
        params = archive.read("model.params")
    header = {"kind": "lstm_mxnet", "format": 1, "model": classifier.config_dict()}
    _zip(path, config_json=json.dumps(header), model_params=params)
    with pytest.raises(DatasetError, match="(?s)does not load.*forward0"):
        MXNetModelDataset(filepath=str(path)).load()


def test_other_zip_archives_are_rejected(tmp_path):
    path = tmp_path / "model.zip"
    _zip(path, readme_txt="hello")
    with pytest.raises(DatasetError, match="not an MXNet model.*readme.txt"):
        MXNetModelDataset(filepath=str(path)).load()
    _zip(path, config_json="{not json", model_params=b"")
    with pytest.raises(DatasetError, match="not a readable model archive"):
        MXNetModelDataset(filepath=str(path)).load()
    _zip(path, config_json='{"kind": "sklearn", "model": {}}', model_params=b"")
    with pytest.raises(DatasetError, match="'kind' among.*got kind 'sklearn'"):
        MXNetModelDataset(filepath=str(path)).load()


def test_invalid_config_is_reported(tmp_path, classifier):
    path = tmp_path / "model.zip"
    MXNetModelDataset(filepath=str(path)).save(classifier)
    with zipfile.ZipFile(path) as archive:
        params = archive.read("model.params")
    header = {"kind": "lstm_mxnet", "model": {"readout": "mean"}}
    _zip(path, config_json=json.dumps(header), model_params=params)
    with pytest.raises(DatasetError, match="(?s)does not load.*readout"):
        MXNetModelDataset(filepath=str(path)).load()


def test_saving_something_else_fails_and_leaves_no_file(tmp_path):
    dataset = MXNetModelDataset(filepath=str(tmp_path / "model.zip"))
    with pytest.raises(DatasetError, match="saves an MXNet model"):
        dataset.save({"embedding.weight": np.zeros((2, 2))})
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no file"):
        MXNetModelDataset(filepath=str(tmp_path / "absent.zip")).load()


def test_every_registered_loader_resolves():
    for kind in LOADERS:
        assert callable(resolve_loader(kind))
