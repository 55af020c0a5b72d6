"""Approaches come from YAML alone, and reuse recomputes exactly what a change reaches.

One scratch copy of the project, changed step by step as a user would change
``conf/``: each ``kedro run --only-missing-outputs`` must run exactly the nodes the
change reaches, and a new approach needs nothing but its YAML block.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agnews_pipeline.approaches import Approach, parse_approaches
from agnews_pipeline.pipelines.glove import create_pipeline as create_glove
from agnews_pipeline.pipelines.glove_haiku import create_pipeline as create_haiku
from agnews_pipeline.pipelines.text_features import create_pipeline as create_features
from tools.sandbox import copy_project, latest, run_kedro

HAIKU_PARAMETERS = Path("conf/base/parameters_glove_haiku.yml")
FEATURE_PARAMETERS = Path("conf/base/parameters_text_features.yml")
NEW_APPROACH_BLOCK = """
  mean_30:      # a 21st approach: YAML only
    <<: *glove_haiku_input
    max_tokens: 30
    model: {pooling: mean, hidden_units: 64}
    training: *glove_haiku_training
    reference: {}
    explanation: *lime
"""


def _quick(approaches: list[str]) -> str:
    return ",".join(
        f"glove_haiku.{approach}.{setting}"
        for approach in approaches
        for setting in ("training.epochs=1", "explanation.num_samples=50")
    )


def _run(project: Path, approaches: list[str], *extra: str) -> set[str]:
    """``kedro run --pipelines=glove_haiku``; the names of the nodes that ran."""
    result = run_kedro(
        project,
        "run",
        "--pipelines=glove_haiku",
        "--params",
        _quick(approaches),
        *extra,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return set(re.findall(r"Completed node: (\S+)", output))


def _edit(project: Path, relative: Path, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new, 1))


def _block(**overrides) -> dict:
    block = {
        "tokenizer": "keras",
        "max_tokens": 50,
        "glove": "6b_50d",
        "model": {},
        "training": {},
        "reference": {"test_accuracy": 0.9},
        "explanation": {},
    }
    return {**block, **overrides}


def test_every_approach_block_is_read_in_yaml_order():
    approaches = parse_approaches(
        {"glove_haiku": {"b": _block(), "a": _block(max_tokens=30)}, "other": 1}
    )
    assert list(approaches["glove_haiku"]) == ["b", "a"]
    assert approaches["glove_haiku"]["a"] == Approach(
        "glove_haiku", "a", "keras", 30, "6b_50d"
    )
    assert approaches["glove_haiku"]["a"].feature_set == "keras_30"
    assert approaches["glove_haiku"]["a"].embedding == "keras_6b_50d"
    assert approaches["rnn_torch"] == {}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (_block(max_token=5), r"glove_haiku\.a: unknown key\(s\) \['max_token'\]"),
        (
            {k: v for k, v in _block().items() if k != "glove"},
            r"missing key\(s\) \['glove'\]",
        ),
        (
            _block(reference={"test_accuracy": 0.9, "glove": "840B"}),
            r"a\.reference: unknown",
        ),
        (_block(tokenizer="spacy"), r"a\.tokenizer: 'spacy' is not one of"),
        (_block(max_tokens=0), r"a\.max_tokens: expected a positive integer, got 0"),
        (
            _block(glove="glove.6B.50d"),
            r"a\.glove: expected a release such as '6b_50d'",
        ),
        ("mean", r"glove_haiku\.a: expected a mapping, got str"),
    ],
)
def test_a_key_that_would_do_nothing_or_cannot_work_is_rejected(block, message):
    with pytest.raises(ValueError, match=message):
        parse_approaches({"glove_haiku": {"a": block}})


@pytest.mark.parametrize("name", ["Mean", "mean__30", "30_mean", "mean-30"])
def test_an_approach_name_must_be_a_plain_identifier(name):
    with pytest.raises(ValueError, match=rf"glove_haiku\.{name}: an approach name must match"):
        parse_approaches({"glove_haiku": {name: _block()}})


def test_the_mxnet_families_also_take_a_validation_block():
    block = _block(tokenizer="word_regex", validation={"split": "validation"})
    assert parse_approaches({"lstm_mxnet": {"a": block}})["lstm_mxnet"][
        "a"
    ].tokenizer == ("word_regex")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['validation'\]"):
        parse_approaches({"rnn_torch": {"a": block}})


def _configured(project: Path) -> list[Approach]:
    """The approaches the scratch project's YAML declares now."""
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    from agnews_pipeline.settings import CONFIG_LOADER_ARGS  # noqa: PLC0415

    loader = OmegaConfigLoader(str(project / "conf"), **CONFIG_LOADER_ARGS)
    return list(parse_approaches(loader["parameters"])["glove_haiku"].values())


def _nodes(project: Path, *namespaces: str) -> set[str]:
    """The nodes of these namespaces, as the project's YAML wires them now."""
    approaches = _configured(project)
    pipeline = (
        create_haiku(approaches)
        + create_features(approaches)
        + create_glove(approaches)
    )
    return {node.name for node in pipeline.nodes if node.namespace in namespaces}


@pytest.mark.slow
def test_reuse_follows_parameters_and_a_new_approach_is_one_yaml_block(tmp_path, quick_baselines):
    project = copy_project(tmp_path / "project")
    data = project / "data"
    haiku = ["flatten", "mean", "sum"]

    assert "glove_haiku.mean.train_model_node" in _run(project, haiku)
    assert _run(project, haiku, "--only-missing-outputs") == set()

    # One approach's learning rate: that approach's nodes, nothing else.
    _edit(
        project,
        HAIKU_PARAMETERS,
        "    training: *glove_haiku_training\n    reference: {test_accuracy: 0.889}",
        "    training: {<<: *glove_haiku_training, learning_rate: 0.01}\n"
        "    reference: {test_accuracy: 0.889}",
    )
    ran = _run(project, haiku, "--only-missing-outputs")
    assert ran == _nodes(project, "glove_haiku.mean")

    # One approach's max_tokens, in YAML alone: its token ids, then that approach.
    _edit(
        project,
        HAIKU_PARAMETERS,
        "  flatten:\n    <<: *glove_haiku_input\n",
        "  flatten:\n    <<: *glove_haiku_input\n    max_tokens: 40\n",
    )
    ran = _run(project, haiku, "--only-missing-outputs")
    tokenize = _nodes(project, "text_features.keras") - {
        "text_features.keras.fit_vocabulary_node"
    }
    assert (
        ran
        == _nodes(project, "glove_haiku.flatten", "text_features.keras_40") | tokenize
    )
    features = np.load(data / "04_feature/text_features/keras_40/train.npz")
    assert features["token_ids"].shape[1] == 40
    flatten = np.load(latest(data / "06_models/glove_haiku/flatten/model.npz"))
    # The flattened 40 x 50 embeddings feed the first dense layer.
    assert any(flatten[name].shape == (40 * 50, 128) for name in flatten.files)
    metrics = json.loads(
        latest(data / "08_reporting/glove_haiku/flatten/metrics.json").read_text()
    )
    assert metrics["max_tokens"] == 40

    # A 21st approach, one YAML block: its token ids and its nodes; the table lists it.
    path = project / HAIKU_PARAMETERS
    path.write_text(path.read_text() + NEW_APPROACH_BLOCK)
    haiku.append("mean_30")
    ran = _run(project, haiku, "--only-missing-outputs")
    assert (
        ran
        == _nodes(project, "glove_haiku.mean_30", "text_features.keras_30") | tokenize
    )
    metrics = json.loads(
        latest(data / "08_reporting/glove_haiku/mean_30/metrics.json").read_text()
    )
    assert metrics["max_tokens"] == 30
    model = np.load(latest(data / "06_models/glove_haiku/mean_30/model.npz"))
    assert any(model[name].shape == (50, 64) for name in model.files)  # its own block
    result = run_kedro(project, "run", "--pipelines=reporting", "--params", quick_baselines)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    table = pd.read_csv(latest(data / "08_reporting/results.csv"))
    row = table[(table["family"] == "glove_haiku") & (table["approach"] == "mean_30")]
    assert list(row["status"]) == ["trained"]

    # The keras vocabulary's fit_on: everything built on that vocabulary, no more.
    _edit(
        project,
        FEATURE_PARAMETERS,
        "    tokenizer: keras\n    vocabulary: *vocabulary",
        "    tokenizer: keras\n    vocabulary: {<<: *vocabulary, fit_on: [train, test]}",
    )
    ran = _run(project, haiku, "--only-missing-outputs")
    assert ran == _nodes(
        project,
        "text_features.keras",
        "text_features.keras_30",
        "text_features.keras_40",
        "text_features.keras_50",
        "glove.keras_6b_50d",
        *(f"glove_haiku.{approach}" for approach in haiku),
    )
