"""batch_predict's catalog: every dataset configured, under each environment's data."""

from __future__ import annotations

import re

import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import MemoryDataset

from agnews_pipeline.pipelines.batch_predict import create_pipeline
from tools.sandbox import PROJECT_ROOT

CONF = PROJECT_ROOT / "conf" / "base"
# The reporting pipeline's output, catalogued with it.
PRODUCED_ELSEWHERE = {"results_table"}


@pytest.fixture(scope="module", params=["local", "full"])
def context(request):
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env=request.param) as session:
        yield session.load_context()


def _location(dataset) -> str:
    described = dataset._describe()  # noqa: SLF001 - the resolved location is the point
    return str(described.get("filepath") or described.get("path"))


def test_every_dataset_is_persisted_under_the_environment_data_folder(context):
    data_dir = PROJECT_ROOT / ("data/full" if context.env == "full" else "data")
    for name in sorted(create_pipeline().datasets()):
        if name.startswith("params:") or (
            name in PRODUCED_ELSEWHERE and not context.catalog.get(name)
        ):
            continue
        dataset = context.catalog.get(name)
        assert dataset is not None, f"{name} matches no catalog entry"
        assert not isinstance(dataset, MemoryDataset), name
        location = _location(dataset)
        assert location.startswith(f"{data_dir}/"), (name, location)
        if context.env != "full":
            assert "/data/full/" not in location, (name, location)


def test_the_parameters_are_configured(context):
    assert context.config_loader["parameters"]["batch_predict"] == {"model": "best"}


def test_the_rejected_list_is_read_back_from_where_it_is_written(context):
    written = context.catalog.get("batch_rejected_partitions")
    read = context.catalog.get("batch_rejected_partitions_before")
    assert _location(written) == _location(read)


def test_the_folders_read_and_written(context):
    data_dir = PROJECT_ROOT / ("data/full" if context.env == "full" else "data")
    assert _location(context.catalog.get("batch_incoming_articles")) == str(
        data_dir / "01_raw" / "incoming"
    )
    assert _location(context.catalog.get("batch_predictions")) == str(
        data_dir / "07_model_output" / "batch"
    )


def test_trained_model_families_match_the_models_catalog():
    # catalog_batch_predict.yml repeats catalog_06_models.yml's types and file names.
    models = yaml.safe_load((CONF / "catalog_06_models.yml").read_text())
    expected = {}
    for pattern, entry in models.items():
        found = re.fullmatch(r"(\w+)\.\{approach\}\.trained_model", pattern)
        assert found, pattern
        assert entry["versioned"] is True
        expected[found.group(1)] = {
            "type": entry["type"],
            "file_name": entry["filepath"].rsplit("/", 1)[-1],
        }
        assert entry["filepath"] == (
            f"${{globals:data_dir}}/06_models/{found.group(1)}/{{approach}}/"
            f"{expected[found.group(1)]['file_name']}"
        )
    batch = yaml.safe_load((CONF / "catalog_batch_predict.yml").read_text())
    assert batch["trained_models"]["path"] == "${globals:data_dir}/06_models"
    assert batch["trained_models"]["families"] == expected


def test_the_pipeline_reads_no_training_artifact_but_models_and_vocabularies():
    inputs = create_pipeline().inputs()
    assert inputs == {
        "results_table",
        "trained_models",
        "params:batch_predict",
        "batch_incoming_articles",
        "batch_incoming_partitions",
        "batch_rejected_partitions_before",
        "text_vocabularies",
        # The fitted ensemble (06_models), read when batch_predict.model is ensemble.
        "ensemble.greedy_selection.combination",
    }
    scoring = next(
        node for node in create_pipeline().nodes if node.name == "score_partitions_node"
    )
    assert scoring.confirms == ["batch_incoming_articles"]
