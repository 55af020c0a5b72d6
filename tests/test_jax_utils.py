"""jax_utils: the path-based freeze mask shared by Haiku and Flax, Adam, host copies."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from agnews_pipeline.jax_utils import frozen_mask, make_adam, path_names, tree_to_numpy


def _haiku_params():
    return {
        "embed": {"embeddings": jnp.zeros((7, 3))},
        "linear": {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)},
        "linear_1": {"w": jnp.zeros((2, 4)), "b": jnp.zeros(4)},
    }


def test_haiku_mask_marks_exactly_the_embeddings():
    mask = frozen_mask(_haiku_params(), {"embed"})
    assert mask == {
        "embed": {"embeddings": True},
        "linear": {"w": False, "b": False},
        "linear_1": {"w": False, "b": False},
    }
    assert frozen_mask(_haiku_params(), ["embeddings"]) == mask


def test_flax_layout_and_parameter_names_work_too():
    params = {
        "params": {
            "Embed_0": {"embedding": np.zeros((7, 3))},
            "Dense_0": {"kernel": np.zeros((3, 4)), "bias": np.zeros(4)},
        }
    }
    assert frozen_mask(params, ("Embed_0",)) == {
        "params": {
            "Embed_0": {"embedding": True},
            "Dense_0": {"kernel": False, "bias": False},
        }
    }
    assert frozen_mask(params, ("bias",))["params"]["Dense_0"] == {
        "kernel": False,
        "bias": True,
    }


def test_names_match_whole_path_components_only():
    params = {"embed_1": {"embeddings_extra": np.zeros(2)}, "mlp/~/embed": {"w": 1.0}}
    mask = frozen_mask(params, {"embed", "embeddings"})
    assert mask == {"embed_1": {"embeddings_extra": False}, "mlp/~/embed": {"w": False}}


@pytest.mark.parametrize("names", [(), set(), frozenset({"absent"})])
def test_nothing_frozen_without_matching_names(names):
    mask = frozen_mask(_haiku_params(), names)
    assert not any(v for module in mask.values() for v in module.values())


def test_lists_and_tuples_are_walked_by_index():
    params = [{"embed": np.zeros(2)}, (np.zeros(1), {"w": np.zeros(1)})]
    assert frozen_mask(params, {"embed", "1"}) == [{"embed": True}, (True, {"w": True})]
    assert frozen_mask(params, {"0"}) == [{"embed": True}, (True, {"w": False})]


def test_path_names_turns_key_paths_into_strings():
    import jax  # noqa: PLC0415

    (path, _), *_ = jax.tree_util.tree_flatten_with_path({"a": [np.zeros(1)]})[0]
    assert path_names(path) == ("a", "0")


def test_tree_to_numpy_gives_owned_host_arrays():
    params = _haiku_params()
    host = tree_to_numpy(params)
    leaf = host["embed"]["embeddings"]
    assert isinstance(leaf, np.ndarray)
    assert leaf.flags.owndata and leaf.flags.writeable
    assert leaf.dtype == np.float32 and leaf.shape == (7, 3)
    leaf[0, 0] = 5.0  # writing the copy leaves the device array untouched
    assert float(params["embed"]["embeddings"][0, 0]) == 0.0


def test_make_adam_clips_the_global_gradient_norm_before_adam():
    params = {"a": jnp.zeros(3), "b": jnp.zeros(2)}
    gradients = {"a": jnp.array([30.0, 0.0, 40.0]), "b": jnp.array([0.0, 0.0])}

    def first_moment(gradient_clip):
        optimizer = make_adam(0.1, gradient_clip)
        _, state = optimizer.update(gradients, optimizer.init(params), params)
        # After one step Adam's first moment is (1 - b1) = 0.1 times its gradient.
        return jax.tree.map(lambda mu: mu / 0.1, optax.tree_utils.tree_get(state, "mu"))

    np.testing.assert_allclose(first_moment(5.0)["a"], [3.0, 0.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(first_moment(None)["a"], [30.0, 0.0, 40.0], rtol=1e-6)
    # A norm already under the bound passes unchanged.
    np.testing.assert_allclose(first_moment(100.0)["a"], [30.0, 0.0, 40.0], rtol=1e-6)
