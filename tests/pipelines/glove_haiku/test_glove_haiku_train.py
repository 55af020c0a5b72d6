"""glove_haiku training: frozen GloVe, determinism, early stopping, node and pipeline."""

import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
import yaml
from kedro.validation.type_extractor import TypeExtractor

from agnews_pipeline.pipelines.glove_haiku import create_pipeline
from agnews_pipeline.pipelines.glove_haiku.models import (
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
)
from agnews_pipeline.pipelines.glove_haiku.nodes import train_model
from agnews_pipeline.pipelines.glove_haiku.train import (
    accuracy,
    compiled_functions,
    init_params,
    init_state,
    loss_fn,
    make_count_correct,
    make_optimizer,
    make_train_step,
    padded_batch,
    train_glove_classifier,
    train_step,
)
from agnews_pipeline.training import TrainingOptions

PROJECT_ROOT = Path(__file__).resolve().parents[3]
V, D, T = 9, 4, 6


def _glove():
    """Tokens 1+2c and 2+2c point along axis c: pooled vectors separate the classes."""
    rng = np.random.default_rng(0)
    matrix = np.zeros((V, D), dtype=np.float32)
    for label in range(4):
        for k, token in enumerate((1 + 2 * label, 2 + 2 * label)):
            matrix[token] = rng.normal(scale=0.1, size=D)
            matrix[token, label] += 1.0 + 0.5 * k
    return matrix


def _features(num_rows, seed):
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


GLOVE = _glove()
TRAIN = _features(96, seed=1)
VALIDATION = _features(40, seed=2)
OPTIONS = TrainingOptions(
    epochs=6, batch_size=16, learning_rate=0.01, seed=3, progress_bar=False
)


def _train(pooling="mean", **options):
    return train_glove_classifier(
        TRAIN,
        VALIDATION,
        GLOVE,
        GloveHaikuConfig(pooling=pooling, hidden_units=8),
        OPTIONS.model_copy(update=options),
    )


@pytest.fixture(scope="module", params=["flatten", "mean", "sum"])
def trained(request):
    return request.param, *_train(request.param)


def test_reaches_high_accuracy_on_a_separable_toy_set(trained):
    pooling, classifier, history = trained
    assert isinstance(classifier, GloveHaikuClassifier)
    assert classifier.config.pooling == pooling
    assert history["epochs"] == OPTIONS.epochs
    assert history["best_validation_accuracy"] >= 0.95
    assert history["train_loss"][-1] < history["train_loss"][0]
    probabilities = classifier.predict_proba(VALIDATION["token_ids"], None)
    assert (probabilities.argmax(1) == VALIDATION["labels"]).mean() >= 0.95


def test_glove_stays_bit_identical_while_every_linear_leaf_changes(trained):
    pooling, classifier, _ = trained
    embeddings = classifier.params["embed"]["embeddings"]
    assert np.array_equal(embeddings, GLOVE)
    assert embeddings.tobytes() == GLOVE.tobytes()
    config = GloveHaikuConfig(pooling=pooling, hidden_units=8)
    initial = init_params(config, GLOVE, OPTIONS.seed, T)
    for module in ("linear", "linear_1"):
        for name in ("w", "b"):
            assert not np.array_equal(
                classifier.params[module][name], initial[module][name]
            ), f"{module}/{name} did not train"


def test_train_step_unjitted_freezes_embeddings_and_keeps_no_moments_for_them():
    config = GloveHaikuConfig(pooling="sum", hidden_units=8)
    network = build_network(config, vocab_size=V, embed_dim=D)
    params = init_params(config, GLOVE, 0, T)
    optimizer = make_optimizer(params, learning_rate=0.1)
    state = init_state(params, optimizer)
    trainable = sum(
        leaf.size
        for module in ("linear", "linear_1")
        for leaf in params[module].values()
    )
    state_leaves = jax.tree.leaves(state.opt_state)
    assert all(np.shape(leaf) != (V, D) for leaf in state_leaves)
    # Adam's mu and nu for the dense leaves, plus its step count: nothing for GloVe.
    assert sum(np.size(leaf) for leaf in state_leaves) == 2 * trainable + 1
    batch = padded_batch(TRAIN, np.arange(10), 16)
    losses = []
    for _ in range(2):
        state, loss = train_step(state, batch, network=network, optimizer=optimizer)
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert np.asarray(state.params["embed"]["embeddings"]).tobytes() == GLOVE.tobytes()
    for module in ("linear", "linear_1"):
        assert not np.array_equal(state.params[module]["w"], params[module]["w"])


def test_jitted_step_matches_the_plain_function():
    config = GloveHaikuConfig(pooling="flatten", hidden_units=8)
    network = build_network(config, vocab_size=V, embed_dim=D)
    params = init_params(config, GLOVE, 0, T)
    optimizer = make_optimizer(params, learning_rate=0.01)
    batch = padded_batch(TRAIN, np.arange(16), 16)
    plain, plain_loss = train_step(
        init_state(params, optimizer), batch, network=network, optimizer=optimizer
    )
    jitted, jitted_loss = make_train_step(network, optimizer)(
        init_state(params, optimizer), batch
    )
    np.testing.assert_allclose(jitted_loss, plain_loss, rtol=1e-6)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
        jitted.params,
        plain.params,
    )


def test_padding_rows_weigh_nothing():
    config = GloveHaikuConfig(pooling="mean", hidden_units=8)
    compiled = compiled_functions(config, V, D, T, OPTIONS.learning_rate)
    network = compiled.network
    params = init_params(config, GLOVE, 0, T)
    rows = np.array([5, 1, 7, 3, 2])
    padded = padded_batch(TRAIN, rows, 8)
    assert padded["token_ids"].shape == (8, T)
    np.testing.assert_array_equal(padded["weights"], [1, 1, 1, 1, 1, 0, 0, 0])
    exact = {"token_ids": TRAIN["token_ids"][rows], "labels": TRAIN["labels"][rows]}
    np.testing.assert_allclose(
        loss_fn(params, network, padded), loss_fn(params, network, exact), rtol=1e-6
    )
    logits = np.asarray(network.apply(params, VALIDATION["token_ids"]))
    expected = (logits.argmax(1) == VALIDATION["labels"]).mean()
    assert accuracy(compiled.count_correct, params, VALIDATION, 16) == expected
    assert (
        make_count_correct(network)(params, padded)
        == (
            network.apply(params, exact["token_ids"]).argmax(1) == exact["labels"]
        ).sum()
    )


def test_same_seed_same_model_and_history():
    first_model, first = _train("mean", epochs=2)
    second_model, second = _train("mean", epochs=2)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]
    jax.tree.map(np.testing.assert_array_equal, first_model.params, second_model.params)
    third_model, _ = _train("mean", epochs=1, seed=4)
    assert not np.array_equal(
        third_model.params["linear"]["w"], first_model.params["linear"]["w"]
    )


def test_patience_stops_on_a_plateau_and_restore_best_keeps_the_best_epoch():
    # All-padding articles pool to zero: every row gets the same class, so the
    # accuracy on one article per class is 0.25 at every epoch, a sure plateau.
    plateau = {
        "token_ids": np.zeros((4, T), np.int32),
        "lengths": np.zeros(4, np.int32),
        "labels": np.arange(4, dtype=np.int32),
    }

    def run(**options):
        return train_glove_classifier(
            TRAIN,
            plateau,
            GLOVE,
            GloveHaikuConfig(pooling="sum", hidden_units=8),
            OPTIONS.model_copy(update=options),
        )

    best, history = run(epochs=5, patience=1)
    assert history["epochs"] == 2 and history["stopped_early"]
    assert history["validation_accuracy"] == [0.25, 0.25]
    assert history["best_epoch"] == 1
    last, last_history = run(epochs=5, patience=1, restore_best=False)
    assert last_history["best_epoch"] == 2
    assert last_history["train_loss"] == history["train_loss"]
    after_one, _ = run(epochs=1)
    # The kept epoch-1 state survived the donated in-place steps of epoch 2.
    jax.tree.map(np.testing.assert_array_equal, best.params, after_one.params)
    assert not np.array_equal(best.params["linear"]["w"], last.params["linear"]["w"])


def test_bad_inputs_fail_with_a_clear_message():
    wrong_vocabulary = {**TRAIN, "token_ids": TRAIN["token_ids"] + V}
    with pytest.raises(ValueError, match="same vocabulary"):
        train_glove_classifier(
            wrong_vocabulary,
            VALIDATION,
            GLOVE,
            GloveHaikuConfig(pooling="sum"),
            OPTIONS,
        )
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    with pytest.raises(ValueError, match="must both have rows"):
        train_glove_classifier(
            TRAIN, empty, GLOVE, GloveHaikuConfig(pooling="sum"), OPTIONS
        )
    with pytest.raises(ValueError, match="labels must lie in 0..3"):
        train_glove_classifier(
            {**TRAIN, "labels": TRAIN["labels"] + 1},
            VALIDATION,
            GLOVE,
            GloveHaikuConfig(pooling="sum"),
            OPTIONS,
        )


def test_glove_initialisation_is_refused_the_embedding_is_glove_already():
    with pytest.raises(ValueError, match="embedding_init must be 'random'"):
        _train(embedding_init="glove")


def test_gradient_clip_bounds_the_trainable_gradient_adam_sees():
    config = GloveHaikuConfig(pooling="sum", hidden_units=8)
    params = init_params(config, GLOVE, 0, T)
    network = build_network(config, vocab_size=V, embed_dim=D)
    batch = padded_batch(TRAIN, np.arange(16), 16)
    gradients = jax.grad(loss_fn)(params, network, batch)

    def first_moment_norm(gradient_clip):
        optimizer = make_optimizer(params, 0.1, gradient_clip=gradient_clip)
        _, state = optimizer.update(gradients, optimizer.init(params), params)
        # After one step Adam's first moment is (1 - b1) = 0.1 times its gradient;
        # the frozen matrix has no moment, so only trainable leaves count.
        return float(optax.tree.norm(optax.tree_utils.tree_get(state, "mu"))) / 0.1

    trainable = {name: leaf for name, leaf in gradients.items() if name != "embed"}
    assert first_moment_norm(None) == pytest.approx(float(optax.tree.norm(trainable)))
    assert first_moment_norm(None) > 0.01
    assert first_moment_norm(0.01) == pytest.approx(0.01, rel=1e-4)


def test_node_accepts_plain_dicts_and_returns_model_and_history():
    coverage = {"glove": "glove.6B.50d", "dimension": 50, "token_coverage": 0.9}
    classifier, history = train_model(
        TRAIN,
        VALIDATION,
        GLOVE,
        coverage,
        model_options={"pooling": "sum", "hidden_units": 8},
        training_options={**OPTIONS.model_dump(), "epochs": 1},
    )
    assert isinstance(classifier, GloveHaikuClassifier)
    assert classifier.backend == "haiku"
    assert set(history) >= {
        "epochs",
        "best_epoch",
        "train_loss",
        "validation_accuracy",
        "best_validation_accuracy",
    }
    assert history["embedding"] == coverage
    with pytest.raises(ValueError, match="pooling"):
        train_model(
            TRAIN,
            VALIDATION,
            GLOVE,
            coverage,
            model_options={"pooling": "max"},
            training_options=OPTIONS,
        )


SHARED_INPUTS = {
    "keras_50_train_features",
    "keras_50_validation_features",
    "keras_50_test_features",
    "keras_6b_50d_glove_matrix",
    "keras_6b_50d_glove_coverage",
    "keras_vocabulary",
    "ag_news_test",
}


def test_pipeline_namespaces_and_free_inputs():
    pipeline = create_pipeline()
    approaches = ("flatten", "mean", "sum")
    assert {node.namespace for node in pipeline.nodes} == {
        f"glove_haiku.{approach}" for approach in approaches
    }
    per_approach = {
        f"params:glove_haiku.{approach}.{block}"
        for approach in approaches
        for block in ("max_tokens", "model", "training", "reference", "explanation")
    }
    assert pipeline.inputs() == SHARED_INPUTS | per_approach
    for approach in approaches:
        assert f"glove_haiku.{approach}.train_model_node" in {
            node.name for node in pipeline.nodes
        }
        assert {
            f"glove_haiku.{approach}.trained_model",
            f"glove_haiku.{approach}.training_history",
            f"glove_haiku.{approach}.metrics",
        } <= pipeline.all_outputs()


def test_kedro_sees_the_typed_parameters_and_the_yaml_validates():
    types = TypeExtractor(
        {"glove_haiku": create_pipeline()}
    ).extract_types_from_pipelines()
    parameters = PROJECT_ROOT / "conf" / "base" / "parameters_glove_haiku.yml"
    blocks = yaml.safe_load(parameters.read_text(encoding="utf-8"))["glove_haiku"]
    for approach in ("flatten", "mean", "sum"):
        assert types[f"glove_haiku.{approach}.model"] is GloveHaikuConfig
        assert types[f"glove_haiku.{approach}.training"] is TrainingOptions
        config = GloveHaikuConfig.model_validate(blocks[approach]["model"])
        assert config.pooling == approach
        block = blocks[approach]["training"]
        project = TrainingOptions.model_validate(block)
        assert project.recipe == "project"


def test_graph_modules_do_not_import_jax():
    code = (
        "import sys\n"
        "import agnews_pipeline.datasets\n"
        "from agnews_pipeline.pipelines.glove_haiku import create_pipeline\n"
        "create_pipeline()\n"
        "loaded = {'jax', 'haiku', 'optax'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_optax_mechanism_is_selective_transform():
    params = {"embed": {"embeddings": np.ones((2, 2))}, "linear": {"w": np.ones(2)}}
    optimizer = make_optimizer(params, 0.1)
    state = optimizer.init(params)
    assert isinstance(state, optax.transforms.PartitionState)
