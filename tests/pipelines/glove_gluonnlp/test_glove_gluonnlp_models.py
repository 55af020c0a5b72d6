"""glove_gluonnlp models: shapes per approach, the pooling maths, the classifier protocol."""

import copy
import pickle

import numpy as np
import pytest
from pydantic import ValidationError

from agnews_pipeline.approaches import configured_approaches
from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.pipelines.glove_gluonnlp.models import (
    GloveGluonArchitecture,
    GloveGluonClassifier,
    GloveGluonConfig,
    copy_network,
    fit_length,
    load_glove_gluon_classifier,
    named_parameters,
)
from agnews_pipeline.pipelines.glove_gluonnlp.train import init_network

mx = import_mxnet()

V, D, T = 7, 3, 5
POOLING = {
    approach: approach.split("_")[0]
    for approach in configured_approaches()["glove_gluonnlp"]
}


@pytest.fixture
def glove():
    matrix = np.random.default_rng(0).normal(size=(V, D)).astype(np.float32)
    matrix[0] = 0.0
    return matrix


TOKEN_IDS = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0], [6, 6, 6, 6, 6]], np.int32)


def _architecture(pooling, **overrides):
    return GloveGluonArchitecture(
        pooling=pooling, vocab_size=V, embed_dim=D, max_tokens=T, **overrides
    )


@pytest.mark.parametrize("approach", sorted(POOLING))
def test_shapes_per_approach(glove, approach):
    pooling = POOLING[approach]
    network = init_network(_architecture(pooling), glove, seed=0)
    shapes = {name: p.shape for name, p in named_parameters(network).items()}
    assert shapes == {
        "embedding.weight": (V, D),
        "dense0.weight": (128, T * D if pooling == "flatten" else D),
        "dense0.bias": (128,),
        "dense1.weight": (64, 128),
        "dense1.bias": (64,),
        "dense2.weight": (4, 64),
        "dense2.bias": (4,),
    }
    logits = network(mx.nd.array(TOKEN_IDS, dtype="int32"))
    assert logits.shape == (3, 4)
    assert logits.dtype == np.float32


def test_init_copies_the_glove_matrix_bit_for_bit_and_freezes_it(glove):
    network = init_network(_architecture("sum"), glove, seed=0)
    weight = named_parameters(network)["embedding.weight"]
    assert weight.data().asnumpy().tobytes() == glove.tobytes()
    assert weight.grad_req == "null"
    for name, parameter in named_parameters(network).items():
        if name != "embedding.weight":
            assert parameter.grad_req == "write", name


def _identity_head(network):
    """Make the net return its pooled features: dense layers = [I; 0] blocks, no bias."""
    parameters = named_parameters(network)
    for index, (rows, columns) in enumerate([(D, D), (D, D), (4, D)]):
        weight = np.zeros((rows, columns), np.float32)
        weight[:D, :D] = np.eye(D)
        parameters[f"dense{index}.weight"].set_data(mx.nd.array(weight))
        parameters[f"dense{index}.bias"].set_data(mx.nd.zeros(rows))


def test_mean_divides_by_all_positions_padding_included():
    glove = np.zeros((V, D), np.float32)
    glove[1], glove[2] = [1, 2, 3], [4, 5, 6]
    ids = mx.nd.array([[1, 2, 0, 0, 0]], dtype="int32")  # two real tokens of T=5
    for pooling, expected in [
        ("mean", [5 / 5, 7 / 5, 9 / 5, 0]),  # not [2.5, 3.5, 4.5]: divides by T
        ("sum", [5, 7, 9, 0]),
    ]:
        architecture = _architecture(pooling, hidden_units=(D, D))
        network = init_network(architecture, glove, seed=0)
        _identity_head(network)
        np.testing.assert_allclose(
            network(ids).asnumpy()[0], np.float32(expected), rtol=1e-6
        )


def test_flatten_keeps_positions_in_order(glove):
    network = init_network(_architecture("flatten"), glove, seed=0)
    pooled = network[1](network[0](mx.nd.array(TOKEN_IDS, dtype="int32")))
    assert pooled.shape == (3, T * D)
    np.testing.assert_array_equal(pooled.asnumpy()[1], glove[[3, 4, 5, 6, 0]].ravel())


def test_config_validation():
    assert GloveGluonConfig(pooling="mean").model_dump() == {
        "pooling": "mean",
        "hidden_units": (128, 64),
        "num_classes": 4,
    }
    assert GloveGluonConfig(pooling="sum", hidden_units=[8]).hidden_units == (8,)
    with pytest.raises(ValidationError, match="pooling"):
        GloveGluonConfig(pooling="max")
    with pytest.raises(ValidationError, match="hidden_units"):
        GloveGluonConfig(pooling="sum", hidden_units=[0])
    with pytest.raises(ValidationError, match="extra"):
        GloveGluonConfig(pooling="sum", dropout=0.1)
    with pytest.raises(ValidationError, match="max_tokens"):
        GloveGluonArchitecture(pooling="sum", vocab_size=V, embed_dim=D)


def test_fit_length_cuts_and_pads_at_the_end():
    ids = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    np.testing.assert_array_equal(fit_length(ids, 2), [[1, 2], [4, 5]])
    np.testing.assert_array_equal(fit_length(ids, 4), [[1, 2, 3, 0], [4, 5, 6, 0]])
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        fit_length(ids[0], 4)


@pytest.fixture
def classifier(glove):
    architecture = _architecture("flatten", hidden_units=(8, 6))
    network = init_network(architecture, glove, seed=1)
    return GloveGluonClassifier(architecture.model_dump(mode="json"), network)


def test_classifier_implements_the_protocol(classifier):
    assert isinstance(classifier, TokenClassifier)
    assert classifier.backend == "mxnet"
    assert isinstance(classifier.architecture, GloveGluonArchitecture)
    probabilities = classifier.predict_proba(TOKEN_IDS, np.array([2, 4, 5]))
    assert probabilities.shape == (3, 4)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    logits = classifier.network(mx.nd.array(TOKEN_IDS, dtype="int32")).asnumpy()
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)


def test_empty_and_all_padding_rows_get_finite_probabilities(classifier):
    # LIME removes every word of some samples: length 0, all positions padding.
    probabilities = classifier.predict_proba(np.zeros((2, T), np.int32), np.zeros(2))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert classifier.predict_proba(TOKEN_IDS[:0], TOKEN_IDS[:0, 0]).shape == (0, 4)


def test_shorter_or_longer_rows_are_fitted_to_max_tokens(classifier):
    expected = classifier.predict_proba(TOKEN_IDS, None)
    longer = np.concatenate([TOKEN_IDS, np.ones((3, 4), np.int32)], axis=1)
    np.testing.assert_array_equal(classifier.predict_proba(longer, None), expected)
    short = classifier.predict_proba(TOKEN_IDS[:1, :2], None)
    # One row instead of three takes another GEMM path: equal up to rounding.
    np.testing.assert_allclose(short, expected[:1], rtol=1e-6)


def test_classifier_batches_without_changing_results(classifier):
    ids = np.random.default_rng(1).integers(0, V, size=(11, T)).astype(np.int32)
    whole = classifier.predict_proba(ids, None)
    classifier.max_batch_size = 4
    np.testing.assert_allclose(classifier.predict_proba(ids, None), whole, rtol=1e-6)
    np.testing.assert_allclose(
        predict_in_batches(classifier, ids, np.full(11, T), batch_size=5),
        whole,
        rtol=1e-6,
    )


def test_classifier_copies_pickles_and_rebuilds_exactly(classifier):
    expected = classifier.predict_proba(TOKEN_IDS, None)
    arrays = classifier.parameter_arrays()
    clones = [
        copy.deepcopy(classifier),
        pickle.loads(pickle.dumps(classifier)),
        GloveGluonClassifier.from_arrays(classifier.architecture, arrays),
        GloveGluonClassifier(
            classifier.architecture,
            copy_network(classifier.architecture, classifier.network),
        ),
    ]
    for clone in clones:
        assert clone.architecture == classifier.architecture
        for name, value in clone.parameter_arrays().items():
            assert value.tobytes() == arrays[name].tobytes(), name
        np.testing.assert_array_equal(clone.predict_proba(TOKEN_IDS, None), expected)


def test_rebuilding_from_mismatched_arrays_fails(classifier):
    arrays = classifier.parameter_arrays()
    with pytest.raises(ValueError, match="do not match"):
        GloveGluonClassifier.from_arrays(
            classifier.architecture, {"embedding.weight": arrays["embedding.weight"]}
        )
    wrong = {**arrays, "dense2.bias": np.zeros(5, np.float32)}
    with pytest.raises(ValueError, match=r"dense2.bias: shape \(5,\)"):
        GloveGluonClassifier.from_arrays(classifier.architecture, wrong)


def test_save_parameters_and_the_loader_round_trip_exactly(classifier, tmp_path):
    expected = classifier.predict_proba(TOKEN_IDS, None)
    path = str(tmp_path / "model.params")
    classifier.save_parameters(path)
    assert classifier.kind == "glove_gluonnlp"
    loaded = load_glove_gluon_classifier(classifier.config_dict(), path)
    assert loaded.architecture == classifier.architecture
    arrays = classifier.parameter_arrays()
    for name, value in loaded.parameter_arrays().items():
        assert value.tobytes() == arrays[name].tobytes(), name
    np.testing.assert_array_equal(loaded.predict_proba(TOKEN_IDS, None), expected)
    other = {**classifier.config_dict(), "pooling": "mean"}  # head of another width
    with pytest.raises(AssertionError, match="shape"):
        load_glove_gluon_classifier(other, path)


def test_parameter_summary_counts_the_frozen_glove_apart(classifier):
    # flatten: GloVe (V x D, grad_req null) -> Dense(T*D -> 8) -> Dense(6) -> Dense(4).
    trainable = (T * D * 8 + 8) + (8 * 6 + 6) + (6 * 4 + 4)
    assert classifier.parameter_summary() == {
        "parameters": V * D + trainable,
        "trainable_parameters": trainable,
        "embedding_dimension": D,
        "embedding_trainable": False,
    }
