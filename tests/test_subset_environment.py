"""The `subset` environment: real AG News articles bundled with the project."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from tools.sandbox import PROJECT_ROOT

SUBSET = PROJECT_ROOT / "data" / "01_raw" / "ag_news_subset"
# The MD5s of the shared AG News folder's README (train_subset.csv and the official
# test.csv, the checksum torchtext's AG_NEWS loader expects).
EXPECTED_MD5 = {
    "train.csv": "60d45fd3211ec64ef8e0804025019128",
    "test.csv": "d52ea96a97a2d943681189a97654912d",
}


@pytest.fixture(scope="module")
def subset_context():
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="subset") as session:
        yield session.load_context()


@pytest.mark.parametrize("name", sorted(EXPECTED_MD5))
def test_bundled_files_are_the_ones_the_readme_names(name):
    digest = hashlib.md5((SUBSET / name).read_bytes()).hexdigest()  # noqa: S324
    assert digest == EXPECTED_MD5[name]


def test_catalog_resolves_to_the_bundled_files_with_their_checksums(subset_context):
    catalog = subset_context.catalog
    for dataset_name, file_name in (
        ("ag_news_train_raw", "train.csv"),
        ("ag_news_test_raw", "test.csv"),
    ):
        description = catalog.get(dataset_name)._describe()  # noqa: SLF001
        assert description["filepath"] == str(SUBSET / file_name)
        assert description["md5"] == EXPECTED_MD5[file_name]


def test_splits_load_with_the_official_row_counts(subset_context):
    catalog = subset_context.catalog
    train = catalog.load("ag_news_train_raw")
    test = catalog.load("ag_news_test_raw")
    assert len(train) == 16_000
    assert train["label"].value_counts().to_dict() == dict.fromkeys(range(4), 4_000)
    assert len(test) == 7_600
    assert test["label"].value_counts().to_dict() == dict.fromkeys(range(4), 1_900)


def test_artifacts_live_apart_from_the_sample_and_full_data(subset_context):
    features = subset_context.catalog.get("keras_50_train_features")
    path = str(features._filepath)  # noqa: SLF001 - the resolved location is the point
    assert "/data/subset/04_feature/" in path


def test_an_altered_file_stops_the_load_naming_it(subset_context, tmp_path):
    altered = tmp_path / "test.csv"
    shutil.copy(SUBSET / "test.csv", altered)
    with altered.open("a") as handle:
        handle.write('"1","extra","row"\n')
    dataset = type(subset_context.catalog.get("ag_news_test_raw"))(
        filepath=str(altered), md5=EXPECTED_MD5["test.csv"]
    )
    with pytest.raises(DatasetError, match=r"test\.csv: MD5 checksum .* does not match"):
        dataset.load()
