"""rnn_torch training: every parameter learns, determinism, clipping, GloVe start, wiring."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from kedro.validation.type_extractor import TypeExtractor

from agnews_pipeline.approaches import configured_approaches
from agnews_pipeline.embeddings import glove_initial_embedding
from agnews_pipeline.pipelines.rnn_torch import create_pipeline, train
from agnews_pipeline.pipelines.rnn_torch.models import RNNClassifier, RNNTorchConfig
from agnews_pipeline.pipelines.rnn_torch.nodes import train_model
from agnews_pipeline.pipelines.rnn_torch.train import (
    accuracy,
    init_network,
    make_optimizer,
    select,
    to_tensors,
    train_rnn_classifier,
    train_step,
)
from agnews_pipeline.training import TrainingOptions

APPROACHES = tuple(configured_approaches()["rnn_torch"])

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PARAMETERS = yaml.safe_load(
    (PROJECT_ROOT / "conf/base/parameters_rnn_torch.yml").read_text(encoding="utf-8")
)["rnn_torch"]
V, T = 21, 8


def approach_config(approach, **update):
    """The approach's `model` block from the YAML, optionally altered."""
    return RNNTorchConfig.model_validate({**PARAMETERS[approach]["model"], **update})


def _features(num_rows, seed):
    """Tokens 1+5c .. 5+5c belong to class c; lengths 0..T, post-padded with 0."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=num_rows).astype(np.int32)
    lengths = rng.integers(1, T + 1, size=num_rows).astype(np.int32)
    token_ids = 1 + 5 * labels[:, None] + rng.integers(0, 5, size=(num_rows, T))
    token_ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return {
        "token_ids": token_ids.astype(np.int32),
        "lengths": lengths,
        "labels": labels,
    }


TRAIN = _features(128, seed=1)
VALIDATION = _features(48, seed=2)
OPTIONS = TrainingOptions(
    epochs=4, batch_size=32, learning_rate=0.02, seed=3, progress_bar=False
)
SMALL = {"embed_dim": 8, "hidden_sizes": [8]}


def _glove(rows=V, width=12):
    """A stand-in GloVe matrix: padding row 0 and every fourth word uncovered (zeros)."""
    matrix = np.random.default_rng(5).normal(size=(rows, width)).astype(np.float32)
    matrix[::4] = 0.0
    return matrix


GLOVE = _glove()


def _train(config=None, **options):
    return train_rnn_classifier(
        TRAIN,
        VALIDATION,
        V,
        RNNTorchConfig.model_validate(config or SMALL),
        OPTIONS.model_copy(update=options),
    )


def _state(network):
    return {key: value.detach().clone() for key, value in network.state_dict().items()}


@pytest.mark.parametrize("approach", sorted(APPROACHES))
@pytest.mark.parametrize("tutorial", [False, True], ids=["fixed", "tutorial"])
def test_one_train_step_changes_every_parameter(approach, tutorial):
    update = (
        {"readout": "last_position", "initial_hidden": "random"} if tutorial else {}
    )
    config = approach_config(approach, **update)
    network = init_network(config, V, seed=0)
    before = _state(network)
    optimizer = make_optimizer(network, learning_rate=1e-3)
    loss = train_step(
        network, optimizer, config, select(to_tensors(TRAIN), np.arange(16))
    )
    assert loss.shape == () and torch.isfinite(loss)
    after = network.state_dict()
    assert set(after) == set(before)
    unchanged = [key for key in before if torch.equal(before[key], after[key])]
    assert not unchanged, f"{approach}: {unchanged} did not train"


def test_learns_a_separable_toy_set_and_restores_the_best_epoch():
    classifier, history = _train(epochs=6)
    assert isinstance(classifier, RNNClassifier)
    assert history["epochs"] == 6
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["best_validation_accuracy"] >= 0.9
    probabilities = classifier.predict_proba(
        VALIDATION["token_ids"], VALIDATION["lengths"]
    )
    kept = (probabilities.argmax(1) == VALIDATION["labels"]).mean()
    assert kept == history["best_validation_accuracy"]
    assert (
        accuracy(classifier.network, classifier.config, to_tensors(VALIDATION)) == kept
    )


@pytest.mark.parametrize(
    "config",
    [SMALL, {**SMALL, "bidirectional": True, "num_layers": 2}],
    ids=["rnn", "birnn"],
)
def test_same_seed_same_model_and_history(config):
    first_model, first = _train(config, epochs=2)
    second_model, second = _train(config, epochs=2)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]
    for key, value in first_model.network.state_dict().items():
        assert torch.equal(value, second_model.network.state_dict()[key]), key
    third_model, _ = _train(config, epochs=2, seed=4)
    assert not torch.equal(
        third_model.network["classifier"].weight,
        first_model.network["classifier"].weight,
    )


def test_random_initial_hidden_is_seeded_and_leaves_the_global_generator_alone():
    tutorial = {**SMALL, "readout": "last_position", "initial_hidden": "random"}
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    _, first = _train(tutorial, epochs=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    _, second = _train(tutorial, epochs=2)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]


def test_patience_stops_on_a_plateau_and_restore_best_keeps_the_first_epoch():
    # Identical all-padding rows get one class: accuracy 0.25 at every epoch.
    plateau = {
        "token_ids": np.zeros((4, T), np.int32),
        "lengths": np.zeros(4, np.int32),
        "labels": np.arange(4, dtype=np.int32),
    }

    def run(**options):
        return train_rnn_classifier(
            TRAIN,
            plateau,
            V,
            RNNTorchConfig(**SMALL),
            OPTIONS.model_copy(update=options),
        )

    best, history = run(epochs=5, patience=1)
    assert history["epochs"] == 2 and history["stopped_early"]
    assert history["validation_accuracy"] == [0.25, 0.25]
    assert history["best_epoch"] == 1
    after_one, _ = run(epochs=1)
    last, last_history = run(epochs=5, patience=1, restore_best=False)
    assert last_history["best_epoch"] == 2
    for key, value in best.network.state_dict().items():
        assert torch.equal(value, after_one.network.state_dict()[key]), key
    assert not torch.equal(
        best.network["classifier"].weight, last.network["classifier"].weight
    )


def test_bad_inputs_fail_with_a_clear_message():
    config = RNNTorchConfig(**SMALL)
    with pytest.raises(ValueError, match="same tokenizer"):
        train_rnn_classifier(
            {**TRAIN, "token_ids": TRAIN["token_ids"] + V},
            VALIDATION,
            V,
            config,
            OPTIONS,
        )
    with pytest.raises(ValueError, match="labels must lie in 0..3"):
        train_rnn_classifier(
            {**TRAIN, "labels": TRAIN["labels"] + 1}, VALIDATION, V, config, OPTIONS
        )
    with pytest.raises(ValueError, match="lack \\['lengths'\\]"):
        train_rnn_classifier(
            {"token_ids": TRAIN["token_ids"], "labels": TRAIN["labels"]},
            VALIDATION,
            V,
            config,
            OPTIONS,
        )
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    with pytest.raises(ValueError, match="must both have rows"):
        train_rnn_classifier(TRAIN, empty, V, config, OPTIONS)


def test_node_accepts_plain_dicts_and_sizes_the_embedding_from_the_vocabulary():
    vocabulary = {
        "tokenizer": "basic_english",
        "unknown_token": "<unk>",
        "padding_index": 0,
        "size": V,
        "tokens": ["<unk>", *(f"w{i}" for i in range(1, V))],
        "counts": [0] * V,
    }
    classifier, history = train_model(
        TRAIN,
        VALIDATION,
        vocabulary,
        GLOVE,
        model_options=SMALL,
        training_options={
            **OPTIONS.model_dump(),
            "epochs": 1,
            "embedding_init": "glove",
        },
    )
    assert isinstance(classifier, RNNClassifier)
    assert classifier.backend == "torch" and classifier.vocab_size == V
    assert set(history) >= {
        "epochs",
        "best_epoch",
        "train_loss",
        "validation_accuracy",
        "best_validation_accuracy",
    }
    with pytest.raises(ValueError, match="readout"):
        train_model(
            TRAIN,
            VALIDATION,
            vocabulary,
            GLOVE,
            model_options={"readout": "last"},
            training_options=OPTIONS,
        )


def test_pipeline_namespaces_and_free_inputs():
    pipeline = create_pipeline()
    assert set(APPROACHES) == set(PARAMETERS)
    assert {node.namespace for node in pipeline.nodes} == {
        f"rnn_torch.{approach}" for approach in APPROACHES
    }
    shared = {
        "basic_english_vocabulary",
        "basic_english_6b_50d_glove_matrix",
        "ag_news_test",
    } | {
        f"basic_english_{tokens}_{split}_features"
        for tokens in (25, 50)
        for split in ("train", "validation", "test")
    }
    per_approach = {
        f"params:rnn_torch.{approach}.{block}"
        for approach in APPROACHES
        for block in ("max_tokens", "model", "training", "reference", "explanation")
    }
    assert pipeline.inputs() == shared | per_approach
    for approach, tokens in [("rnn_25", 25), ("rnn_50", 50), ("birnn_3layer", 50)]:
        train_node = next(
            node
            for node in pipeline.nodes
            if node.name == f"rnn_torch.{approach}.train_model_node"
        )
        assert f"basic_english_{tokens}_train_features" in train_node.inputs
        assert "basic_english_6b_50d_glove_matrix" in train_node.inputs
        explain_node = next(
            node
            for node in pipeline.nodes
            if node.name == f"rnn_torch.{approach}.explain_article_node"
        )
        assert f"params:rnn_torch.{approach}.max_tokens" in explain_node.inputs
        assert {
            f"rnn_torch.{approach}.trained_model",
            f"rnn_torch.{approach}.training_history",
            f"rnn_torch.{approach}.metrics",
            f"rnn_torch.{approach}.lime_explanation_html",
        } <= pipeline.all_outputs()


def test_kedro_sees_the_typed_parameters_and_the_yaml_validates():
    types = TypeExtractor(
        {"rnn_torch": create_pipeline()}
    ).extract_types_from_pipelines()
    parameters = PROJECT_ROOT / "conf" / "base" / "parameters_rnn_torch.yml"
    blocks = yaml.safe_load(parameters.read_text(encoding="utf-8"))["rnn_torch"]
    references = {
        "rnn_25": 0.8728,
        "rnn_50": 0.8798,
        "rnn_3layer": 0.8677,
        "rnn_stacked": 0.8786,
        "birnn_3layer": 0.7484,
    }
    for approach, reference in references.items():
        assert types[f"rnn_torch.{approach}.model"] is RNNTorchConfig
        assert types[f"rnn_torch.{approach}.training"] is TrainingOptions
        block = blocks[approach]
        assert block["reference"] == {"test_accuracy": reference}
        project = TrainingOptions.model_validate(block["training"])
        assert project.recipe == "project" and project.embedding_init == "glove"
        assert project.gradient_clip is not None and project.patience is not None


def test_graph_modules_do_not_import_torch():
    code = (
        "import sys\n"
        "import agnews_pipeline.datasets\n"
        "from agnews_pipeline.pipelines.rnn_torch import create_pipeline\n"
        "import agnews_pipeline.pipelines.rnn_torch.models\n"
        "create_pipeline()\n"
        "loaded = {'torch', 'jax', 'flax', 'haiku', 'mxnet'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _grad_norm(network):
    return float(
        torch.linalg.vector_norm(
            torch.stack(
                [p.grad.norm() for p in network.parameters() if p.grad is not None]
            )
        )
    )


def test_gradient_clip_bounds_the_step_on_a_huge_loss_batch():
    config = RNNTorchConfig(**SMALL)
    batch = select(to_tensors(TRAIN), np.arange(32))

    def step(clip):
        network = init_network(config, V, seed=0)
        # Huge, confidently wrong logits: a loss (and gradient) far above the clip.
        with torch.no_grad():
            network["classifier"].weight.mul_(1e3)
        loss = train_step(
            network, make_optimizer(network, 1e-3), config, batch, gradient_clip=clip
        )
        return float(loss), _grad_norm(network)

    loss, unclipped = step(None)
    assert loss > 10 and unclipped > 10
    _, clipped = step(0.5)
    assert clipped <= 0.5 + 1e-5


def test_glove_init_starts_the_embedding_from_the_glove_rows(monkeypatch):
    config = RNNTorchConfig(**SMALL)
    started = {}
    make = train.make_optimizer

    def spy(network, learning_rate):
        started["embedding"] = network["embedding"].weight.detach().clone()
        return make(network, learning_rate)

    monkeypatch.setattr(train, "make_optimizer", spy)
    options = OPTIONS.model_copy(update={"epochs": 1, "embedding_init": "glove"})
    classifier, _ = train_rnn_classifier(
        TRAIN, VALIDATION, V, config, options, glove_matrix=GLOVE
    )
    # 12-d stand-in GloVe, 8-d embedding: the PCA rows, exactly.
    expected = glove_initial_embedding(GLOVE, 8, OPTIONS.seed)
    np.testing.assert_array_equal(started["embedding"].numpy(), expected)
    trained = classifier.network["embedding"].weight
    assert trained.requires_grad
    assert not np.array_equal(trained.detach().numpy(), expected)  # still trained
    # embedding_init: random leaves torch's draw and leaves the matrix unused.
    train_rnn_classifier(
        TRAIN,
        VALIDATION,
        V,
        config,
        options.model_copy(update={"embedding_init": "random"}),
        glove_matrix=GLOVE,
    )
    assert started["embedding"].shape == expected.shape
    assert not np.array_equal(started["embedding"].numpy(), expected)


def test_glove_init_refuses_a_matrix_of_another_vocabulary():
    options = OPTIONS.model_copy(update={"embedding_init": "glove"})
    with pytest.raises(ValueError, match=f"{V + 3} rows but the vocabulary has {V}"):
        train_rnn_classifier(
            TRAIN,
            VALIDATION,
            V,
            RNNTorchConfig(**SMALL),
            options,
            glove_matrix=_glove(V + 3),
        )
    with pytest.raises(ValueError, match="no GloVe matrix"):
        train_rnn_classifier(TRAIN, VALIDATION, V, RNNTorchConfig(**SMALL), options)
