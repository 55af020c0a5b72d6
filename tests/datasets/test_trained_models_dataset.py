"""TrainedModelsDataset: every trained approach, its latest version, lazy reads."""

import jax
import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from agnews_pipeline.datasets import (
    HaikuModelDataset,
    TorchModelDataset,
    TrainedModelsDataset,
)
from agnews_pipeline.pipelines.glove_haiku.models import (
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
)
from agnews_pipeline.pipelines.rnn_torch.models import (
    RNNClassifier,
    RNNTorchConfig,
)
from agnews_pipeline.pipelines.rnn_torch.models import (
    build_network as build_rnn,
)

FAMILIES = {
    "glove_haiku": {
        "type": "agnews_pipeline.datasets.HaikuModelDataset",
        "file_name": "model.npz",
    },
    "rnn_torch": {
        "type": "agnews_pipeline.datasets.TorchModelDataset",
        "file_name": "model.pt",
    },
}
TOKEN_IDS = np.array([[1, 2, 0, 0], [6, 5, 4, 3]], dtype=np.int32)
LENGTHS = np.array([2, 4], dtype=np.int32)
OLD, NEW = "2025-01-01T00.00.00.000Z", "2025-06-30T12.00.00.000Z"


def haiku_model(seed: int) -> GloveHaikuClassifier:
    glove = np.random.default_rng(seed).normal(size=(7, 3)).astype(np.float32)
    config = GloveHaikuConfig(pooling="mean", hidden_units=5)
    params = build_network(config, glove).init(
        jax.random.PRNGKey(seed), np.zeros((1, 4), np.int32)
    )
    return GloveHaikuClassifier(config=config, params=jax.tree.map(np.asarray, params))


def torch_model() -> RNNClassifier:
    import torch  # noqa: PLC0415

    torch.manual_seed(0)
    config = RNNTorchConfig(embed_dim=4, hidden_sizes=(5,))
    return RNNClassifier(config=config, network=build_rnn(config, 7))


def save(dataset_type, models, name, version, model):
    family, approach, filename = name.split("/")
    filepath = str(models / family / approach / filename)
    dataset_type(filepath=filepath, version=Version(None, version)).save(model)


@pytest.fixture(scope="module")
def haiku_old():
    return haiku_model(0)


@pytest.fixture(scope="module")
def haiku_new():
    return haiku_model(1)


@pytest.fixture
def models(tmp_path, haiku_old, haiku_new):
    models = tmp_path / "06_models"
    save(HaikuModelDataset, models, "glove_haiku/mean/model.npz", OLD, haiku_old)
    save(HaikuModelDataset, models, "glove_haiku/mean/model.npz", NEW, haiku_new)
    save(HaikuModelDataset, models, "glove_haiku/sum/model.npz", OLD, haiku_old)
    save(TorchModelDataset, models, "rnn_torch/rnn_25/model.pt", NEW, torch_model())
    return models


def _probabilities(model):
    return model.predict_proba(TOKEN_IDS, LENGTHS)


def test_lists_every_trained_approach_with_its_versions(models):
    dataset = TrainedModelsDataset(path=str(models), families=FAMILIES)
    assert dataset.exists()
    listed = dataset.load()
    assert sorted(listed) == ["glove_haiku.mean", "glove_haiku.sum", "rnn_torch.rnn_25"]
    mean = listed["glove_haiku.mean"]
    assert (mean.family, mean.approach, mean.name) == (
        "glove_haiku",
        "mean",
        "glove_haiku.mean",
    )
    assert mean.versions == (OLD, NEW)
    assert mean.version == NEW
    assert mean.filepath == str(models / "glove_haiku" / "mean" / "model.npz")
    assert listed["glove_haiku.sum"].versions == (OLD,)
    assert listed["rnn_torch.rnn_25"].versions == (NEW,)


def test_loads_the_latest_version_by_default_and_a_pinned_one_on_request(
    models, haiku_old, haiku_new
):
    mean = TrainedModelsDataset(path=str(models), families=FAMILIES).load()[
        "glove_haiku.mean"
    ]
    np.testing.assert_array_equal(
        _probabilities(mean.load()), _probabilities(haiku_new)
    )
    np.testing.assert_array_equal(
        _probabilities(mean.load(OLD)), _probabilities(haiku_old)
    )
    torch_loaded = (
        TrainedModelsDataset(path=str(models), families=FAMILIES)
        .load()["rnn_torch.rnn_25"]
        .load()
    )
    assert isinstance(torch_loaded, RNNClassifier)
    assert torch_loaded.backend == "torch"


def test_an_unknown_version_is_named_with_the_ones_that_exist(models):
    mean = TrainedModelsDataset(path=str(models), families=FAMILIES).load()[
        "glove_haiku.mean"
    ]
    with pytest.raises(DatasetError) as raised:
        mean.load("2024-01-01T00.00.00.000Z")
    assert str(raised.value) == (
        "glove_haiku.mean: no model version '2024-01-01T00.00.00.000Z' at "
        f"'{mean.filepath}'; found ['{OLD}', '{NEW}']"
    )


def test_no_model_is_read_until_asked_for(models):
    # A corrupt archive does not stop the listing; only reading it fails.
    broken = models / "glove_haiku" / "flatten" / "model.npz" / NEW
    broken.mkdir(parents=True)
    (broken / "model.npz").write_bytes(b"not a zip archive")
    listed = TrainedModelsDataset(path=str(models), families=FAMILIES).load()
    assert listed["glove_haiku.flatten"].versions == (NEW,)
    with pytest.raises(DatasetError, match="not a readable .npz model archive"):
        listed["glove_haiku.flatten"].load()


def test_an_interrupted_save_is_not_a_version(models):
    # An interrupted save leaves at most a partial sibling; Kedro ignores such folders.
    later = models / "glove_haiku" / "mean" / "model.npz" / "2026-01-01T00.00.00.000Z"
    later.mkdir()
    (later / "model.npz.partial-1a2b3c4d").write_bytes(b"half")
    listed = TrainedModelsDataset(path=str(models), families=FAMILIES).load()
    assert listed["glove_haiku.mean"].version == NEW


def test_only_configured_families_are_listed(models):
    haiku_only = {"glove_haiku": FAMILIES["glove_haiku"]}
    listed = TrainedModelsDataset(path=str(models), families=haiku_only).load()
    assert sorted(listed) == ["glove_haiku.mean", "glove_haiku.sum"]


def test_a_missing_models_folder_lists_nothing(tmp_path):
    dataset = TrainedModelsDataset(path=str(tmp_path / "absent"), families=FAMILIES)
    assert dataset.load() == {}
    assert not dataset.exists()


def test_saving_is_refused(models):
    with pytest.raises(DatasetError, match="TrainedModelsDataset is read-only"):
        TrainedModelsDataset(path=str(models), families=FAMILIES).save({})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"type": "agnews_pipeline.datasets.HaikuModelDataset"},
            "TrainedModelsDataset: families.glove_haiku is {'type': "
            "'agnews_pipeline.datasets.HaikuModelDataset'}; expected a mapping with "
            "'type' (the family's model dataset) and 'file_name' (e.g. model.npz)",
        ),
        (
            {"type": "agnews_pipeline.datasets.HaikuModelDataset", "file_name": "a/b"},
            "TrainedModelsDataset: families.glove_haiku.file_name is 'a/b'; expected a "
            "file name without '/'",
        ),
        (
            {"type": "agnews_pipeline.datasets.GloVeDataset", "file_name": "x.txt"},
            "TrainedModelsDataset: families.glove_haiku.type "
            "'agnews_pipeline.datasets.GloVeDataset' is not a versioned dataset; "
            "trained models are saved with versioned: true",
        ),
    ],
)
def test_bad_family_configuration_is_named(tmp_path, spec, message):
    with pytest.raises(DatasetError) as raised:
        TrainedModelsDataset(path=str(tmp_path), families={"glove_haiku": spec})
    assert str(raised.value) == message
