"""GloVeDataset(optional=True) and the large-release catalog entries that rely on it."""

import zipfile
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, DatasetError
from omegaconf.resolvers import oc

from agnews_pipeline.datasets import GloVeDataset

CONF = Path(__file__).parents[2] / "conf"


def test_optional_absent_file_loads_none_with_a_warning(tmp_path, caplog):
    absent = str(tmp_path / "glove.840B.300d.zip")
    with caplog.at_level("WARNING"):
        assert GloVeDataset(filepath=absent, optional=True).load() is None
    assert absent in caplog.text and "optional" in caplog.text
    assert not GloVeDataset(filepath=absent, optional=True).exists()
    # Not optional (the default): the absent file is still an error.
    with pytest.raises(DatasetError, match="no GloVe file"):
        GloVeDataset(filepath=absent).load()


def test_optional_present_file_or_package_loads_as_usual(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2\ncat 3 4\n", encoding="utf-8")
    vectors = GloVeDataset(filepath=str(path), optional=True).load()
    assert vectors.dimension == 2
    assert vectors.lookup(["cat"])[0].tolist() == [[3.0, 4.0]]
    assert GloVeDataset(source="package", optional=True).load().dimension == 50


def test_an_optional_but_corrupt_file_still_fails(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("no-vector-here\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 1"):
        GloVeDataset(filepath=str(path), optional=True).load()


def _catalog(monkeypatch, glove_dir: Path) -> DataCatalog:
    monkeypatch.setenv("GLOVE_DIR", str(glove_dir))
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env="local",
        custom_resolvers={"oc.env": oc.env},
    )
    config = loader["catalog"]
    names = ("glove_840b_300d_vectors", "glove_42b_300d_vectors")
    return DataCatalog.from_config({name: config[name] for name in names})


def test_catalog_entries_point_at_glove_dir_and_tolerate_absence(monkeypatch, tmp_path):
    catalog = _catalog(monkeypatch, tmp_path)
    assert catalog.load("glove_840b_300d_vectors") is None
    assert catalog.load("glove_42b_300d_vectors") is None
    with zipfile.ZipFile(tmp_path / "glove.42B.300d.zip", "w") as archive:
        archive.writestr("glove.42B.300d.txt", "the " + " ".join(["0.5"] * 300) + "\n")
    vectors = _catalog(monkeypatch, tmp_path).load("glove_42b_300d_vectors")
    assert (vectors.name, vectors.dimension) == ("glove.42B.300d.txt", 300)
