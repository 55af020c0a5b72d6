"""conv1d_flax models: shapes per approach, the pooling, padding in the max, protocol."""

import copy
import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import ValidationError

from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.pipelines.conv1d_flax import models
from agnews_pipeline.pipelines.conv1d_flax.models import (
    Conv1DClassifier,
    Conv1DFlaxConfig,
    build_model,
    max_pool_1d,
    pooled_length,
)

V, T = 11, 50
SMALL = {"embed_dim": 6, "conv_features": 5, "kernel_size": 3}


def _ids(rows=3, seed=0):
    ids = np.random.default_rng(seed).integers(1, V, size=(rows, T)).astype(np.int32)
    ids[0, 10:] = 0  # a short article, post-padded
    return ids


def _init(config, ids=None):
    model = build_model(config, V)
    ids = _ids() if ids is None else ids
    return model, model.init(jax.random.PRNGKey(0), ids)["params"]


@pytest.mark.parametrize(
    ("architecture", "modules"),
    [
        ("single", {"embed", "conv1", "dense"}),
        ("double", {"embed", "conv1", "conv2", "dense"}),
    ],
)
def test_shapes_per_approach_with_the_tutorial_sizes(architecture, modules):
    model, params = _init(Conv1DFlaxConfig(architecture=architecture))
    assert set(params) == modules
    assert params["embed"]["embedding"].shape == (V, 128)
    assert params["conv1"]["kernel"].shape == (7, 128, 32)
    assert params["conv1"]["bias"].shape == (32,)
    if architecture == "double":
        assert params["conv2"]["kernel"].shape == (7, 32, 32)
    assert params["dense"]["kernel"].shape == (32, 4)
    logits = model.apply({"params": params}, _ids())
    assert logits.shape == (3, 4)
    assert logits.dtype == jnp.float32


def test_the_module_class_is_a_typed_linen_dataclass():
    import flax.linen as nn  # noqa: PLC0415

    module_class = models.Conv1DTextClassifier
    assert issubclass(module_class, nn.Module)
    assert module_class is models.Conv1DTextClassifier  # defined once
    assert "Attributes:" in module_class.__doc__
    with pytest.raises(AttributeError):
        models.NoSuchThing  # noqa: B018


@pytest.mark.parametrize(("stride", "positions"), [(1, 46), (5, 10)])
def test_double_pools_with_window_5_and_the_configured_stride(stride, positions):
    config = Conv1DFlaxConfig(architecture="double", pool_stride=stride, **SMALL)
    assert pooled_length(config, T) == positions
    model, params = _init(config)
    conv2 = jax.tree.leaves(
        jax.eval_shape(
            lambda: model.apply(
                {"params": params},
                _ids(),
                capture_intermediates=lambda module, _: module.name == "conv2",
                mutable=["intermediates"],
            )
        )[1]
    )[0]
    assert conv2.shape == (3, positions, SMALL["conv_features"])
    assert pooled_length(Conv1DFlaxConfig(architecture="single"), T) == T
    assert pooled_length(Conv1DFlaxConfig(architecture="double"), 4) == 0


@pytest.mark.parametrize(("window", "stride"), [(5, 1), (5, 5), (2, 3)])
def test_max_pool_1d_matches_flax_max_pool_in_values_and_gradient(window, stride):
    import flax.linen as nn  # noqa: PLC0415

    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(3, 17, 4)), 0).astype(np.float32)
    x[:, 9:] = x[:, 9:10]  # ties, as identical padding positions produce
    x = jnp.asarray(x)

    def flax_pool(x):
        return nn.max_pool(x, (window,), strides=(stride,), padding="VALID")

    expected = flax_pool(x)
    pooled = max_pool_1d(x, window, stride)
    assert pooled.shape == expected.shape == (3, (17 - window) // stride + 1, 4)
    np.testing.assert_array_equal(pooled, expected)
    cotangent = jnp.asarray(rng.normal(size=expected.shape).astype(np.float32))
    grads = [
        jax.grad(lambda x, pool=pool: (pool(x) * cotangent).sum())(x)
        for pool in (flax_pool, lambda x: max_pool_1d(x, window, stride))
    ]
    np.testing.assert_array_equal(grads[1], grads[0])


def test_max_over_time_includes_padding_positions():
    # The tutorial did not mask padding: the embedding of id 0 reaches the max, so a
    # padded article's output depends on it, an unpadded one's does not.
    config = Conv1DFlaxConfig(architecture="single", **SMALL)
    model, params = _init(config)
    ids = _ids()
    ids[1, :] = np.arange(1, T + 1) % (V - 1) + 1  # row 1 has no padding
    changed = jax.tree.map(np.array, params)
    changed["embed"]["embedding"][0] += 5.0
    before = np.asarray(model.apply({"params": params}, ids))
    after = np.asarray(model.apply({"params": changed}, ids))
    assert not np.allclose(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_config_validation():
    assert Conv1DFlaxConfig(architecture="single").model_dump() == {
        "architecture": "single",
        "embed_dim": 128,
        "conv_features": 32,
        "kernel_size": 7,
        "pool_window": 5,
        "pool_stride": 1,
        "num_classes": 4,
    }
    with pytest.raises(ValidationError, match="architecture"):
        Conv1DFlaxConfig(architecture="triple")
    with pytest.raises(ValidationError, match="kernel_size"):
        Conv1DFlaxConfig(architecture="single", kernel_size=0)
    with pytest.raises(ValidationError, match="extra"):
        Conv1DFlaxConfig(architecture="single", dropout=0.1)


@pytest.fixture(scope="module")
def classifier():
    config = Conv1DFlaxConfig(architecture="double", **SMALL)
    _, params = _init(config)
    host = jax.tree.map(np.asarray, params)
    return Conv1DClassifier(config=config.model_dump(), params=host)


def test_classifier_implements_the_protocol(classifier):
    assert isinstance(classifier, TokenClassifier)
    assert classifier.backend == "flax"
    assert isinstance(classifier.config, Conv1DFlaxConfig)  # a dict is validated
    assert classifier.vocab_size == V
    ids = _ids()
    probabilities = classifier.predict_proba(ids, np.array([10, T, T]))
    assert probabilities.shape == (3, 4)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    model = build_model(classifier.config, V)
    expected = jax.nn.softmax(model.apply({"params": classifier.params}, ids))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-7)


def test_rows_of_length_zero_get_finite_probabilities(classifier):
    # LIME removes every word of some perturbations: all padding, length 0.
    probabilities = classifier.predict_proba(
        np.zeros((2, T), np.int32), np.zeros(2, np.int32)
    )
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_classifier_batches_and_pads_without_changing_results(classifier):
    ids = _ids(rows=11, seed=1)
    whole = classifier.predict_proba(ids, np.full(11, T))
    clone = copy.copy(classifier)
    clone.max_batch_size = 4  # chunks of 4, 4, 3 (the last padded to 4)
    np.testing.assert_allclose(clone.predict_proba(ids, None), whole, rtol=1e-5)
    np.testing.assert_allclose(
        predict_in_batches(classifier, ids, np.full(11, T), batch_size=5),
        whole,
        rtol=1e-5,
    )
    assert classifier.predict_proba(ids[:0], ids[:0, 0]).shape == (0, 4)


def test_classifier_copies_and_pickles_after_predicting(classifier):
    ids = _ids()
    expected = classifier.predict_proba(ids, None)
    for clone in (copy.deepcopy(classifier), pickle.loads(pickle.dumps(classifier))):
        assert clone._predict is None
        np.testing.assert_array_equal(clone.predict_proba(ids, None), expected)


def test_importing_the_models_module_loads_no_framework():
    code = (
        "import sys\n"
        "from agnews_pipeline.pipelines.conv1d_flax.models import Conv1DFlaxConfig\n"
        "Conv1DFlaxConfig(architecture='double')\n"
        "loaded = {'jax', 'flax', 'optax'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parameter_summary_counts_every_weight_as_trained(classifier):
    leaves = sum(np.size(array) for arrays in classifier.params.values() for array in arrays.values())
    assert classifier.parameter_summary() == {
        "parameters": leaves,
        "trainable_parameters": leaves,
        "embedding_dimension": 6,
        "embedding_trainable": True,
    }
    assert leaves > V * 6
