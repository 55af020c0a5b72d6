"""The `full` environment's AG News source: the public release unless AGNEWS_DATA_DIR says otherwise."""

from __future__ import annotations

import socket
import time

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from tools.sandbox import PROJECT_ROOT

# The mirror torchtext's AG_NEWS loader downloads train.csv and test.csv from.
PUBLIC_RELEASE = (
    "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv"
)


def _full_catalog():
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="full") as session:
        return session.load_context().catalog


def _source(catalog, name: str) -> str:
    return catalog.get(name)._describe()["filepath"]  # noqa: SLF001 - the resolved location is the point


def test_without_agnews_data_dir_the_public_release_is_downloaded(monkeypatch):
    monkeypatch.delenv("AGNEWS_DATA_DIR", raising=False)
    catalog = _full_catalog()
    assert _source(catalog, "ag_news_train_raw") == f"{PUBLIC_RELEASE}/train.csv"
    assert _source(catalog, "ag_news_test_raw") == f"{PUBLIC_RELEASE}/test.csv"
    described = catalog.get("ag_news_train_raw")._describe()  # noqa: SLF001
    assert described["md5"] == "b1a00f826fdfbd249f79597b59e1dc12"
    assert str(described["cache_dir"]) == "data/full/01_raw/ag_news"


def test_agnews_data_dir_points_the_environment_at_a_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("AGNEWS_DATA_DIR", str(tmp_path))
    catalog = _full_catalog()
    assert _source(catalog, "ag_news_train_raw") == f"{tmp_path}/train.csv"
    assert _source(catalog, "ag_news_test_raw") == f"{tmp_path}/test.csv"


def test_offline_the_environment_fails_at_once_and_says_how_to_use_local_files(
    monkeypatch, tmp_path
):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AGNEWS_DATA_DIR", f"http://127.0.0.1:{port}/ag_news")
    catalog = _full_catalog()
    monkeypatch.chdir(tmp_path)  # cache_dir is relative: keep the project's data/ clean
    started = time.monotonic()
    with pytest.raises(DatasetError) as error:
        catalog.load("ag_news_test_raw")
    assert time.monotonic() - started < 5
    message = " ".join(str(error.value).split())
    assert f"from 'http://127.0.0.1:{port}/ag_news/test.csv'" in message
    assert "AGNEWS_DATA_DIR=/folder/with/train.csv+test.csv" in message
    assert not any((tmp_path / "data").rglob("*.csv*"))
