"""conv1d_flax training: every leaf trains, determinism, node, pipeline and config."""

import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
import yaml
from kedro.validation.type_extractor import TypeExtractor

from agnews_pipeline.embeddings import glove_initial_embedding
from agnews_pipeline.pipelines.conv1d_flax import create_pipeline, train
from agnews_pipeline.pipelines.conv1d_flax.models import (
    Conv1DClassifier,
    Conv1DFlaxConfig,
)
from agnews_pipeline.pipelines.conv1d_flax.nodes import train_model
from agnews_pipeline.pipelines.conv1d_flax.train import (
    accuracy,
    compiled_functions,
    create_train_state,
    init_params,
    loss_fn,
    padded_batch,
    train_conv1d_classifier,
    train_step,
)
from agnews_pipeline.training import TrainingHistory, TrainingOptions, TrainingResult

PROJECT_ROOT = Path(__file__).resolve().parents[3]
APPROACHES = {"conv1d_single": "single", "conv1d_double": "double"}
V, T = 9, 12
SMALL = {"embed_dim": 8, "conv_features": 8, "kernel_size": 3}


def _features(num_rows, seed):
    """Tokens 1+2c and 2+2c belong to class c; rows are post-padded with 0."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=num_rows).astype(np.int32)
    lengths = rng.integers(2, T + 1, size=num_rows).astype(np.int32)
    token_ids = 1 + 2 * labels[:, None] + rng.integers(0, 2, size=(num_rows, T))
    token_ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return {
        "token_ids": token_ids.astype(np.int32),
        "lengths": lengths,
        "labels": labels,
    }


# A 5-d "GloVe" for the toy vocabulary: row 0 (padding) and the last word uncovered.
GLOVE = np.random.default_rng(5).normal(size=(V, 5)).astype(np.float32)
GLOVE[[0, V - 1]] = 0.0
TRAIN = _features(96, seed=1)
VALIDATION = _features(40, seed=2)
OPTIONS = TrainingOptions(
    epochs=3, batch_size=16, learning_rate=0.02, seed=3, progress_bar=False
)


def _config(architecture):
    return Conv1DFlaxConfig(architecture=architecture, **SMALL)


def _train(architecture="single", glove_matrix=None, **options):
    return train_conv1d_classifier(
        TRAIN,
        VALIDATION,
        V,
        _config(architecture),
        OPTIONS.model_copy(update=options),
        glove_matrix=glove_matrix,
    )


@pytest.fixture(scope="module", params=["single", "double"])
def trained(request):
    return request.param, *_train(request.param)


def test_reaches_high_accuracy_on_a_separable_toy_set(trained):
    architecture, classifier, history = trained
    assert isinstance(classifier, Conv1DClassifier)
    assert classifier.config.architecture == architecture
    assert history["epochs"] == OPTIONS.epochs
    assert history["best_validation_accuracy"] >= 0.95
    assert history["train_loss"][-1] < history["train_loss"][0]
    probabilities = classifier.predict_proba(VALIDATION["token_ids"], None)
    assert (probabilities.argmax(1) == VALIDATION["labels"]).mean() >= 0.95


@pytest.mark.parametrize("architecture", ["single", "double"])
def test_one_unjitted_train_step_changes_every_trainable_leaf(architecture):
    # The learning rate of OPTIONS reuses the step the trainings above compiled.
    compiled = compiled_functions(
        _config(architecture), V, OPTIONS.learning_rate, OPTIONS.gradient_clip
    )
    params = init_params(compiled.model, 0, T)
    # embedding, conv kernel and bias (one or two convolutions), dense kernel and bias
    assert len(jax.tree.leaves(params)) == (7 if architecture == "double" else 5)
    state = create_train_state(compiled.model, params, compiled.optimizer)
    batch = padded_batch(TRAIN, np.arange(16), 16)
    new_state, metrics = train_step(state, batch)
    assert np.isfinite(float(metrics["loss"]))
    assert int(new_state.step) == 1
    unchanged = [
        jax.tree_util.keystr(path)
        for path, flag in jax.tree_util.tree_leaves_with_path(
            jax.tree.map(np.array_equal, params, new_state.params)
        )
        if flag
    ]
    assert not unchanged, f"leaves that did not train: {unchanged}"
    jitted, jitted_metrics = compiled.step(state, batch)
    np.testing.assert_allclose(jitted_metrics["loss"], metrics["loss"], rtol=1e-6)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        jitted.params,
        new_state.params,
    )


def test_padding_rows_weigh_nothing():
    compiled = compiled_functions(
        _config("single"), V, OPTIONS.learning_rate, OPTIONS.gradient_clip
    )
    apply_fn = compiled.model.apply
    params = init_params(compiled.model, 0, T)
    rows = np.array([5, 1, 7, 3, 2])
    padded = padded_batch(TRAIN, rows, 8)
    assert padded["token_ids"].shape == (8, T)
    np.testing.assert_array_equal(padded["weights"], [1, 1, 1, 1, 1, 0, 0, 0])
    exact = {
        "token_ids": TRAIN["token_ids"][rows],
        "labels": TRAIN["labels"][rows],
        "weights": np.ones(len(rows), np.float32),
    }
    np.testing.assert_allclose(
        loss_fn(params, apply_fn, padded), loss_fn(params, apply_fn, exact), rtol=1e-6
    )
    logits = np.asarray(apply_fn({"params": params}, VALIDATION["token_ids"]))
    expected = (logits.argmax(1) == VALIDATION["labels"]).mean()
    assert accuracy(compiled.count_correct, params, VALIDATION) == expected


def test_same_seed_same_model_and_history(trained):
    architecture, first_model, first = trained
    second_model, second = _train(architecture)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]
    jax.tree.map(np.testing.assert_array_equal, first_model.params, second_model.params)
    ids = VALIDATION["token_ids"]
    np.testing.assert_array_equal(
        first_model.predict_proba(ids, None), second_model.predict_proba(ids, None)
    )
    other_seed, _ = _train(architecture, epochs=1, seed=4)
    assert not np.array_equal(
        other_seed.params["dense"]["kernel"], first_model.params["dense"]["kernel"]
    )


def test_restore_best_keeps_the_best_epoch_and_patience_stops():
    # All-padding articles give every row the same prediction: the accuracy on one
    # article per class is 0.25 at every epoch, a sure plateau.
    plateau = {
        "token_ids": np.zeros((4, T), np.int32),
        "lengths": np.zeros(4, np.int32),
        "labels": np.arange(4, dtype=np.int32),
    }

    def run(**options):
        return train_conv1d_classifier(
            TRAIN,
            plateau,
            V,
            _config("single"),
            OPTIONS.model_copy(update=options),
        )

    best, history = run(epochs=3, patience=1)
    assert history["epochs"] == 2 and history["stopped_early"]
    assert history["validation_accuracy"] == [0.25, 0.25]
    assert history["best_epoch"] == 1
    last, last_history = run(epochs=3, patience=1, restore_best=False)
    assert last_history["best_epoch"] == 2
    after_one, _ = run(epochs=1)
    jax.tree.map(np.testing.assert_array_equal, best.params, after_one.params)
    assert not np.array_equal(
        best.params["dense"]["kernel"], last.params["dense"]["kernel"]
    )


def test_bad_inputs_fail_with_a_clear_message():
    config = _config("single")
    with pytest.raises(ValueError, match="same vocabulary"):
        train_conv1d_classifier(
            {**TRAIN, "token_ids": TRAIN["token_ids"] + V},
            VALIDATION,
            V,
            config,
            OPTIONS,
        )
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    with pytest.raises(ValueError, match="must both have rows"):
        train_conv1d_classifier(TRAIN, empty, V, config, OPTIONS)
    with pytest.raises(ValueError, match="labels must lie in 0..3"):
        train_conv1d_classifier(
            {**TRAIN, "labels": TRAIN["labels"] + 1}, VALIDATION, V, config, OPTIONS
        )
    short = {
        key: value[:, :3] if key == "token_ids" else value
        for key, value in TRAIN.items()
    }
    with pytest.raises(ValueError, match="no position after a max-pool"):
        train_conv1d_classifier(short, VALIDATION, V, _config("double"), OPTIONS)


def test_glove_init_starts_the_embedding_from_the_projected_glove_rows(monkeypatch):
    started = {}

    def no_training(state, *_args, **_kwargs):
        started["embedding"] = np.asarray(state.params["embed"]["embedding"])
        return TrainingResult(state=state, history=TrainingHistory())

    # The loop is the shared contract's; replacing it shows the state training
    # starts from.
    monkeypatch.setattr(train, "run_training_loop", no_training)
    options = {"embedding_init": "glove", "seed": 7}
    classifier, _ = _train(glove_matrix=GLOVE, **options)
    expected = glove_initial_embedding(GLOVE, SMALL["embed_dim"], seed=7)
    np.testing.assert_array_equal(started["embedding"], expected)
    np.testing.assert_array_equal(classifier.params["embed"]["embedding"], expected)
    _train(glove_matrix=GLOVE, embedding_init="random", seed=7)
    assert not np.array_equal(started["embedding"], expected)


def test_glove_init_trains_the_embedding():
    classifier, history = _train(glove_matrix=GLOVE, embedding_init="glove", epochs=1)
    assert history["recipe"]["embedding_init"] == "glove"
    start = glove_initial_embedding(GLOVE, SMALL["embed_dim"], seed=OPTIONS.seed)
    assert not np.array_equal(classifier.params["embed"]["embedding"], start)


def test_a_glove_matrix_for_another_vocabulary_is_refused():
    other = np.ones((V + 3, 5), np.float32)
    message = rf"GloVe matrix has {V + 3} rows but the vocabulary has {V}"
    for init in ("glove", "random"):
        with pytest.raises(ValueError, match=message):
            _train(glove_matrix=other, embedding_init=init)
    with pytest.raises(ValueError, match="'glove' but no GloVe matrix"):
        _train(embedding_init="glove")


def test_gradient_clip_bounds_the_gradient_adam_sees():
    config = _config("single")
    batch = padded_batch(TRAIN, np.arange(16), 16)

    def first_moment_norm(gradient_clip):
        # Without a clip this reuses the step the trainings above compiled.
        compiled = compiled_functions(config, V, OPTIONS.learning_rate, gradient_clip)
        params = init_params(compiled.model, 0, T)
        state = create_train_state(compiled.model, params, compiled.optimizer)
        new_state, _ = compiled.step(state, batch)
        # After one step Adam's first moment is (1 - b1) = 0.1 times its gradient.
        mu = optax.tree_utils.tree_get(new_state.opt_state, "mu")
        return float(optax.tree.norm(mu)) / 0.1

    assert first_moment_norm(None) > 0.01
    assert first_moment_norm(0.01) == pytest.approx(0.01, rel=1e-4)


def test_node_accepts_plain_dicts_and_returns_model_and_history():
    vocabulary = {"size": V, "tokens": ["<pad>", *map(str, range(1, V))]}
    classifier, history = train_model(
        TRAIN,
        VALIDATION,
        vocabulary,
        GLOVE,
        model_options={"architecture": "single", **SMALL},
        training_options={**OPTIONS.model_dump(), "epochs": 1},
    )
    assert isinstance(classifier, Conv1DClassifier)
    assert classifier.backend == "flax"
    assert classifier.vocab_size == V
    assert set(history) >= {
        "epochs",
        "best_epoch",
        "train_loss",
        "validation_accuracy",
        "best_validation_accuracy",
    }
    with pytest.raises(ValueError, match="architecture"):
        train_model(
            TRAIN,
            VALIDATION,
            vocabulary,
            GLOVE,
            model_options={"architecture": "x"},
            training_options=OPTIONS,
        )


SHARED_INPUTS = {
    "keras_50_train_features",
    "keras_50_validation_features",
    "keras_50_test_features",
    "keras_vocabulary",
    "keras_6b_50d_glove_matrix",
    "ag_news_test",
}


def test_pipeline_namespaces_and_free_inputs():
    pipeline = create_pipeline()
    assert {node.namespace for node in pipeline.nodes} == {
        f"conv1d_flax.{approach}" for approach in APPROACHES
    }
    per_approach = {
        f"params:conv1d_flax.{approach}.{block}"
        for approach in APPROACHES
        for block in ("max_tokens", "model", "training", "reference", "explanation")
    }
    assert pipeline.inputs() == SHARED_INPUTS | per_approach
    names = {node.name for node in pipeline.nodes}
    for approach in APPROACHES:
        assert f"conv1d_flax.{approach}.train_model_node" in names
        assert {
            f"conv1d_flax.{approach}.trained_model",
            f"conv1d_flax.{approach}.training_history",
            f"conv1d_flax.{approach}.metrics",
            f"conv1d_flax.{approach}.lime_explanation_html",
        } <= pipeline.all_outputs()


def test_kedro_sees_the_typed_parameters_and_the_yaml_validates():
    types = TypeExtractor(
        {"conv1d_flax": create_pipeline()}
    ).extract_types_from_pipelines()
    parameters = PROJECT_ROOT / "conf" / "base" / "parameters_conv1d_flax.yml"
    blocks = yaml.safe_load(parameters.read_text(encoding="utf-8"))["conv1d_flax"]
    assert set(blocks) == set(APPROACHES)
    references = {"conv1d_single": 0.912, "conv1d_double": 0.899}
    for approach, architecture in APPROACHES.items():
        assert types[f"conv1d_flax.{approach}.model"] is Conv1DFlaxConfig
        assert types[f"conv1d_flax.{approach}.training"] is TrainingOptions
        config = Conv1DFlaxConfig.model_validate(blocks[approach]["model"])
        assert config.architecture == architecture
        assert (config.embed_dim, config.conv_features, config.kernel_size) == (
            128,
            32,
            7,
        )
        block = blocks[approach]["training"]
        project = TrainingOptions.model_validate(block)
        assert project.recipe == "project"
        assert project.embedding_init == "glove"
        assert blocks[approach]["reference"]["test_accuracy"] == references[approach]


def test_graph_modules_do_not_import_jax():
    code = (
        "import sys\n"
        "import agnews_pipeline.datasets\n"
        "from agnews_pipeline.pipelines.conv1d_flax import create_pipeline\n"
        "create_pipeline()\n"
        "loaded = {'jax', 'flax', 'optax'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
