"""glove_haiku models: pooling shapes, the tutorial's mean, the classifier protocol."""

import copy
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import ValidationError

from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.pipelines.glove_haiku.models import (
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
    pool,
)

V, D, T = 7, 3, 5


@pytest.fixture
def glove():
    matrix = np.random.default_rng(0).normal(size=(V, D)).astype(np.float32)
    matrix[0] = 0.0
    return matrix


@pytest.fixture
def token_ids():
    return np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0], [6, 6, 6, 6, 6]], dtype=np.int32)


def _init(config, glove, token_ids):
    network = build_network(config, glove)
    return network, network.init(jax.random.PRNGKey(0), token_ids)


@pytest.mark.parametrize(
    ("pooling", "linear_inputs"), [("flatten", T * D), ("mean", D), ("sum", D)]
)
def test_shapes_per_pooling(glove, token_ids, pooling, linear_inputs):
    config = GloveHaikuConfig(pooling=pooling)
    network, params = _init(config, glove, token_ids)
    assert set(params) == {"embed", "linear", "linear_1"}
    assert params["embed"]["embeddings"].shape == (V, D)
    assert params["linear"]["w"].shape == (linear_inputs, 128)
    assert params["linear_1"]["w"].shape == (128, 4)
    logits = network.apply(params, token_ids)
    assert logits.shape == (3, 4)
    assert logits.dtype == jnp.float32


def test_init_copies_the_glove_matrix_bit_for_bit(glove, token_ids):
    _, params = _init(GloveHaikuConfig(pooling="sum"), glove, token_ids)
    stored = np.asarray(params["embed"]["embeddings"])
    assert stored.tobytes() == glove.tobytes()


def _identity_head(params):
    """Make the net return its pooled features: Linear(3) = I, Linear(4) = [I | 0]."""
    eye = np.eye(D, dtype=np.float32)
    return {
        "embed": params["embed"],
        "linear": {"w": eye, "b": np.zeros(D, np.float32)},
        "linear_1": {
            "w": np.hstack([eye, np.zeros((D, 1), np.float32)]),
            "b": np.zeros(4, np.float32),
        },
    }


def test_mean_divides_by_all_positions_padding_included():
    glove = np.array(
        [[0, 0, 0], [1, 2, 3], [4, 5, 6], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
        dtype=np.float32,
    )
    ids = np.array([[1, 2, 0, 0, 0]], dtype=np.int32)  # two real tokens out of T=5
    for pooling, expected in [
        ("mean", [5 / 5, 7 / 5, 9 / 5, 0]),  # not [2.5, 3.5, 4.5]: divides by T
        ("sum", [5, 7, 9, 0]),
    ]:
        config = GloveHaikuConfig(pooling=pooling, hidden_units=D)
        network, params = _init(config, glove, ids)
        logits = network.apply(_identity_head(params), ids)
        np.testing.assert_allclose(
            np.asarray(logits)[0], np.float32(expected), rtol=1e-6
        )


def test_flatten_keeps_positions_in_order():
    embedded = jnp.arange(2 * T * D, dtype=jnp.float32).reshape(2, T, D)
    flat = pool(embedded, "flatten")
    assert flat.shape == (2, T * D)
    np.testing.assert_array_equal(flat[1], np.arange(T * D) + T * D)
    with pytest.raises(ValueError, match="Unknown pooling"):
        pool(embedded, "max")


def test_embedding_gets_no_gradient(glove, token_ids):
    network, params = _init(GloveHaikuConfig(pooling="mean"), glove, token_ids)
    grads = jax.grad(lambda p: network.apply(p, token_ids).sum())(params)
    assert not np.any(np.asarray(grads["embed"]["embeddings"]))
    assert np.any(np.asarray(grads["linear"]["w"]))


def test_config_validation():
    assert GloveHaikuConfig(pooling="mean").model_dump() == {
        "pooling": "mean",
        "hidden_units": 128,
        "num_classes": 4,
    }
    with pytest.raises(ValidationError, match="pooling"):
        GloveHaikuConfig(pooling="max")
    with pytest.raises(ValidationError, match="hidden_units"):
        GloveHaikuConfig(pooling="sum", hidden_units=0)
    with pytest.raises(ValidationError, match="extra"):
        GloveHaikuConfig(pooling="sum", dropout=0.1)


@pytest.fixture
def classifier(glove, token_ids):
    config = GloveHaikuConfig(pooling="flatten", hidden_units=8)
    _, params = _init(config, glove, token_ids)
    host = jax.tree.map(np.asarray, params)
    return GloveHaikuClassifier(config=config.model_dump(), params=host)


def test_classifier_implements_the_protocol(classifier, token_ids, glove):
    assert isinstance(classifier, TokenClassifier)
    assert classifier.backend == "haiku"
    assert isinstance(classifier.config, GloveHaikuConfig)  # a dict is validated
    assert (classifier.vocab_size, classifier.embed_dim) == (V, D)
    probabilities = classifier.predict_proba(token_ids, np.array([2, 4, 5]))
    assert probabilities.shape == (3, 4)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    network = build_network(classifier.config, glove)
    expected = jax.nn.softmax(network.apply(classifier.params, token_ids))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6)


def test_classifier_batches_and_pads_without_changing_results(classifier):
    ids = np.random.default_rng(1).integers(0, V, size=(11, T)).astype(np.int32)
    whole = classifier.predict_proba(ids, np.full(11, T))
    classifier.max_batch_size = 4  # chunks of 4, 4, 3 (the last padded to 4)
    np.testing.assert_allclose(classifier.predict_proba(ids, None), whole, rtol=1e-6)
    np.testing.assert_allclose(
        predict_in_batches(classifier, ids, np.full(11, T), batch_size=5),
        whole,
        rtol=1e-6,
    )
    assert classifier.predict_proba(ids[:0], ids[:0, 0]).shape == (0, 4)


def test_classifier_copies_and_pickles_after_predicting(classifier, token_ids):
    expected = classifier.predict_proba(token_ids, None)
    for clone in (copy.deepcopy(classifier), pickle.loads(pickle.dumps(classifier))):
        assert clone._predict is None
        np.testing.assert_array_equal(clone.predict_proba(token_ids, None), expected)


def test_parameter_summary_counts_the_frozen_glove_apart(classifier):
    # flatten: GloVe (V x D, frozen) -> Dense(T*D -> 8) -> Dense(8 -> 4).
    assert classifier.parameter_summary() == {
        "parameters": V * D + (T * D * 8 + 8) + (8 * 4 + 4),
        "trainable_parameters": (T * D * 8 + 8) + (8 * 4 + 4),
        "embedding_dimension": D,
        "embedding_trainable": False,
    }
