"""TorchModelDataset: one weights-only .pt per model, exact round trips, clear errors."""

import numpy as np
import pytest
import torch
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import TorchModelDataset
from agnews_pipeline.pipelines.rnn_torch.models import (
    RNNClassifier,
    RNNTorchConfig,
    build_network,
)

CONFIG = RNNTorchConfig(embed_dim=4, hidden_sizes=(5, 6), bidirectional=True)
TOKEN_IDS = np.array([[1, 2, 0, 0], [6, 5, 4, 3], [0, 0, 0, 0]], dtype=np.int32)
LENGTHS = np.array([2, 4, 0], dtype=np.int32)


def _classifier(seed=0, config=CONFIG):
    torch.manual_seed(seed)
    return RNNClassifier(config=config, network=build_network(config, 7))


@pytest.fixture(scope="module")
def classifier():
    return _classifier()


def _assert_same_model(loaded, original):
    assert isinstance(loaded, RNNClassifier)
    assert loaded.backend == "torch"
    assert loaded.config == original.config
    assert not loaded.network.training
    got, want = loaded.network.state_dict(), original.network.state_dict()
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype
        assert torch.equal(got[key], value), key
    np.testing.assert_array_equal(
        loaded.predict_proba(TOKEN_IDS, LENGTHS),
        original.predict_proba(TOKEN_IDS, LENGTHS),
    )


def test_round_trip_is_exact(tmp_path, classifier):
    dataset = TorchModelDataset(filepath=str(tmp_path / "model.pt"))
    assert not dataset.exists()
    dataset.save(classifier)
    assert dataset.exists()
    _assert_same_model(dataset.load(), classifier)


def test_file_is_a_config_and_a_state_dict_loadable_weights_only(tmp_path, classifier):
    path = tmp_path / "model.pt"
    TorchModelDataset(filepath=str(path)).save(classifier)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"config", "state_dict"}
    assert payload["config"] == {
        **CONFIG.model_dump(mode="json"),
        "hidden_sizes": [5, 6],
    }
    assert payload["state_dict"]["embedding.weight"].shape == (7, 4)
    assert "rnns.1.weight_hh_l0_reverse" in payload["state_dict"]


def test_versioned_saves_load_the_latest(tmp_path, classifier):
    filepath = str(tmp_path / "06_models" / "model.pt")
    TorchModelDataset(filepath=filepath, version=Version(None, None)).save(classifier)
    versions = list((tmp_path / "06_models" / "model.pt").iterdir())
    assert len(versions) == 1
    assert (versions[0] / "model.pt").is_file()
    retrained = _classifier(seed=1)
    TorchModelDataset(filepath=filepath, version=Version(None, None)).save(retrained)
    latest = TorchModelDataset(filepath=filepath, version=Version(None, None)).load()
    _assert_same_model(latest, retrained)
    pinned = TorchModelDataset(
        filepath=filepath, version=Version(versions[0].name, None)
    )
    _assert_same_model(pinned.load(), classifier)


def test_corrupt_file_raises_a_dataset_error(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"definitely not a torch file")
    with pytest.raises(DatasetError, match="not a readable torch model file"):
        TorchModelDataset(filepath=str(path)).load()


def test_truncated_file_raises_a_dataset_error(tmp_path, classifier):
    path = tmp_path / "model.pt"
    TorchModelDataset(filepath=str(path)).save(classifier)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="not a readable torch model file"):
        TorchModelDataset(filepath=str(path)).load()


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"config": {}, "state_dict": {}, "payload": np.ones(2)}, path)
    with pytest.raises(DatasetError, match="not a readable torch model file"):
        TorchModelDataset(filepath=str(path)).load()


def test_other_torch_files_are_rejected(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(DatasetError, match="not an rnn_torch model.*weight"):
        TorchModelDataset(filepath=str(path)).load()


def test_mismatched_config_and_weights_are_reported(tmp_path, classifier):
    path = tmp_path / "model.pt"
    state_dict = classifier.network.state_dict()
    torch.save({"config": {"hidden_sizes": [5]}, "state_dict": state_dict}, path)
    with pytest.raises(DatasetError, match="do not fit together"):
        TorchModelDataset(filepath=str(path)).load()
    torch.save({"config": {"readout": "middle"}, "state_dict": state_dict}, path)
    with pytest.raises(DatasetError, match="(?s)do not fit together.*readout"):
        TorchModelDataset(filepath=str(path)).load()


def test_saving_something_else_fails_and_leaves_no_file(tmp_path):
    dataset = TorchModelDataset(filepath=str(tmp_path / "model.pt"))
    with pytest.raises(DatasetError, match="saves an RNNClassifier"):
        dataset.save({"embedding.weight": torch.zeros(2, 2)})
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no file"):
        TorchModelDataset(filepath=str(tmp_path / "absent.pt")).load()
