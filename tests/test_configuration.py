"""The configuration and the registered pipelines agree, in every environment."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import MemoryDataset

from tools.sandbox import PROJECT_ROOT

# Datasets that stay in memory by design: token lists (cheap to rebuild, large to
# store) and training histories (they land in metrics.json).
IN_MEMORY = re.compile(r"(_tokens|\.training_history)$")
HEAVY_FRAMEWORKS = ("jax", "haiku", "flax", "optax", "torch", "mxnet", "gluonnlp")


@pytest.fixture(scope="module", params=["local", "full", "subset"])
def context(request):
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env=request.param) as session:
        yield session.load_context()


def test_every_pipeline_dataset_is_catalogued_or_deliberately_in_memory(context):
    catalog = context.catalog
    for name in sorted(pipelines["__default__"].datasets()):
        if name.startswith("params:") or name == "parameters":
            continue
        dataset = catalog.get(name)
        if IN_MEMORY.search(name):
            assert dataset is None or isinstance(dataset, MemoryDataset), name
        else:
            assert dataset is not None, f"{name} matches no catalog entry or pattern"
            assert not isinstance(dataset, MemoryDataset), name


def test_every_parameter_a_node_reads_is_configured(context):
    parameters = context.params
    for name in sorted(pipelines["__default__"].inputs()):
        if not name.startswith("params:"):
            continue
        value = parameters
        for key in name.removeprefix("params:").split("."):
            assert isinstance(value, dict) and key in value, f"{name} is not configured"
            value = value[key]


def test_full_environment_keeps_its_artifacts_apart(context):
    features = context.catalog.get("keras_50_train_features")
    path = str(features._filepath)  # noqa: SLF001 - the resolved location is the point
    if context.env == "full":
        assert "/data/full/04_feature/" in path
        assert str(context.catalog.get("ag_news_train_raw")._filepath).endswith("train.csv")
    elif context.env == "subset":
        assert "/data/subset/04_feature/" in path
    else:
        assert "/data/full/" not in path and "/data/subset/" not in path
        assert "data/04_feature/" in path


def test_listing_pipelines_imports_no_deep_learning_framework():
    # kedro viz build and kedro registry list import every pipeline module.
    code = (
        "import sys; from agnews_pipeline.pipeline_registry import register_pipelines;"
        "register_pipelines();"
        f"print([m for m in {HEAVY_FRAMEWORKS!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_telemetry_is_off_for_the_project():
    assert (PROJECT_ROOT / ".telemetry").read_text().strip() == "consent: false"
