"""Training of a ``glove_haiku`` network: Adam on the dense layers, GloVe frozen.

The GloVe matrix is frozen through the optimizer: ``optax.selective_transform``
routes the leaves that ``frozen_mask`` marks (``embed/embeddings``) to
``set_to_zero``, so they get no update and Adam keeps no moments for them.
``train_step`` is a plain function; the driver jits it once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax

from agnews_pipeline.embeddings import (
    FrozenGloveInputs,
    frozen_glove_trainer,
    log_frozen_glove_model,
)
from agnews_pipeline.jax_utils import (
    Batch,
    accuracy,
    frozen_mask,
    make_adam,
    tree_to_numpy,
)
from agnews_pipeline.training import (
    TrainingOptions,
    padded_batch,
    progress,
    run_training_loop,
    shuffled_batches,
)

from .models import (
    EMBEDDING_MODULE,
    EMBEDDING_PARAM,
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
)

# Parameter-path components whose leaves the optimizer never updates: the
# ``hk.Embed`` module and its parameter (the latter also inside nested modules).
FROZEN_NAMES: tuple[str, ...] = (EMBEDDING_MODULE, EMBEDDING_PARAM)


class TrainingState(NamedTuple):
    """Everything one optimisation step reads and writes."""

    params: hk.Params
    opt_state: optax.OptState


@functools.lru_cache(maxsize=16)
def _jitted_init(
    config: GloveHaikuConfig, max_tokens: int
) -> Callable[[jax.Array, jax.Array], hk.Params]:
    def init(key: jax.Array, matrix: jax.Array) -> hk.Params:
        dummy = jnp.zeros((1, max_tokens), dtype=jnp.int32)
        return build_network(config, matrix).init(key, dummy)

    return jax.jit(init)


def init_params(
    config: GloveHaikuConfig, embedding_matrix: np.ndarray, seed: int, max_tokens: int
) -> hk.Params:
    """Initialise from ``jax.random.PRNGKey(seed)``, ``embed/embeddings`` = the matrix.

    The init is jitted with the matrix as an argument (not a baked-in constant), so
    it compiles once instead of dispatching dozens of small eager operations.
    """
    return _jitted_init(config, max_tokens)(jax.random.PRNGKey(seed), embedding_matrix)


def make_optimizer(
    params: hk.Params,
    learning_rate: float,
    frozen_names: tuple[str, ...] = FROZEN_NAMES,
    gradient_clip: float | None = None,
) -> optax.GradientTransformation:
    """Adam for the trainable leaves; frozen leaves get no update and no state.

    The clip sits inside the selective transform, so the global norm it bounds is
    the trainable leaves' only (the frozen matrix's gradient is never applied).
    """
    return optax.selective_transform(
        make_adam(learning_rate, gradient_clip),
        freeze_mask=frozen_mask(params, frozen_names),
    )


def init_state(
    params: hk.Params, optimizer: optax.GradientTransformation
) -> TrainingState:
    """Pair the parameters with a fresh optimizer state."""
    return TrainingState(params=params, opt_state=optimizer.init(params))


def loss_fn(params: hk.Params, network: hk.Transformed, batch: Batch) -> jax.Array:
    """Softmax cross-entropy averaged over the batch rows whose weight is 1.

    ``batch["weights"]`` (optional) is 1 for real rows and 0 for the rows that pad
    the last batch to the common shape; without it every row counts.
    """
    logits = network.apply(params, batch["token_ids"])
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"])
    weights = batch.get("weights")
    if weights is None:
        return losses.mean()
    return (losses * weights).sum() / weights.sum()


def train_step(
    state: TrainingState,
    batch: Batch,
    *,
    network: hk.Transformed,
    optimizer: optax.GradientTransformation,
) -> tuple[TrainingState, jax.Array]:
    """One Adam step on one batch; returns the new state and the batch loss.

    Plain function: bind ``network`` and ``optimizer`` with ``functools.partial``
    and ``jax.jit`` the result once (``make_train_step``).
    """
    loss, grads = jax.value_and_grad(loss_fn)(state.params, network, batch)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainingState(params=params, opt_state=opt_state), loss


def make_train_step(
    network: hk.Transformed, optimizer: optax.GradientTransformation
) -> Callable[[TrainingState, Batch], tuple[TrainingState, jax.Array]]:
    """Bind the network and optimizer to ``train_step`` and jit it.

    The incoming state is donated: XLA updates it in place instead of copying
    the frozen ``(V, d)`` matrix on every step, so a caller that keeps an old
    state must keep a copy (``copy_state``).
    """
    return jax.jit(
        functools.partial(train_step, network=network, optimizer=optimizer),
        donate_argnums=0,
    )


def copy_state(state: TrainingState) -> TrainingState:
    """Copy every buffer of a state, so a later donated step cannot invalidate it."""
    return jax.tree.map(jnp.copy, state)


def make_count_correct(
    network: hk.Transformed,
) -> Callable[[hk.Params, Batch], jax.Array]:
    """Jit ``(params, batch) -> number of weighted rows whose arg-max is the label``."""

    def count_correct(params: hk.Params, batch: Batch) -> jax.Array:
        predicted = network.apply(params, batch["token_ids"]).argmax(-1)
        return ((predicted == batch["labels"]) * batch["weights"]).sum()

    return jax.jit(count_correct)


class CompiledFunctions(NamedTuple):
    """The network, optimizer and jitted functions of one training setup."""

    network: hk.Transformed
    optimizer: optax.GradientTransformation
    init_opt_state: Callable[[hk.Params], optax.OptState]
    step: Callable[[TrainingState, Batch], tuple[TrainingState, jax.Array]]
    count_correct: Callable[[hk.Params, Batch], jax.Array]


@functools.lru_cache(maxsize=8)
def compiled_functions(
    config: GloveHaikuConfig,
    vocab_size: int,
    embed_dim: int,
    max_tokens: int,
    learning_rate: float,
    *,
    gradient_clip: float | None = None,
) -> CompiledFunctions:
    """Build and jit once per setup, so a retraining in the same process (a second
    seed, a test) reuses the compiled code; nothing here holds the GloVe matrix.
    """
    network = build_network(config, vocab_size=vocab_size, embed_dim=embed_dim)
    abstract_params = jax.eval_shape(
        _jitted_init(config, max_tokens),
        jax.ShapeDtypeStruct((2,), jnp.uint32),
        jax.ShapeDtypeStruct((vocab_size, embed_dim), jnp.float32),
    )
    optimizer = make_optimizer(
        abstract_params, learning_rate, gradient_clip=gradient_clip
    )
    return CompiledFunctions(
        network=network,
        optimizer=optimizer,
        init_opt_state=jax.jit(optimizer.init),
        step=make_train_step(network, optimizer),
        count_correct=make_count_correct(network),
    )


@frozen_glove_trainer("glove_haiku")
def train_glove_classifier(
    inputs: FrozenGloveInputs, config: GloveHaikuConfig, options: TrainingOptions, name: str
) -> tuple[GloveHaikuClassifier, dict[str, Any]]:
    """Train a Haiku pooling classifier on the frozen GloVe matrix, under the shared contract.

    Called with the features, matrix, ``config`` (pooling and layer sizes), options and
    ``name`` (for the logs) that ``frozen_glove_trainer`` describes; the compiled
    train step sees one batch shape, the last short batch padded.

    Returns:
        The trained classifier (best or last epoch) and its history as a dict.
    """
    embedding_matrix, train, validation = inputs
    vocab_size, embed_dim = embedding_matrix.shape
    num_rows, max_tokens = train["token_ids"].shape
    options = options.for_rows(num_rows)

    params = init_params(config, embedding_matrix, options.seed, max_tokens)
    compiled = compiled_functions(
        config,
        vocab_size,
        embed_dim,
        max_tokens,
        options.learning_rate,
        gradient_clip=options.gradient_clip,
    )
    state = TrainingState(params=params, opt_state=compiled.init_opt_state(params))
    step, count_correct = compiled.step, compiled.count_correct
    rng = np.random.default_rng(options.seed)
    batch_size = options.batch_size

    leaves = jax.tree.leaves(params)
    flags = jax.tree.leaves(frozen_mask(params, FROZEN_NAMES))
    frozen = sum(leaf.size for leaf, flag in zip(leaves, flags, strict=True) if flag)
    log_frozen_glove_model(
        name, config.pooling, sum(leaf.size for leaf in leaves) - frozen, frozen, num_rows
    )

    def train_epoch(state: TrainingState, epoch: int) -> tuple[TrainingState, float]:
        losses, sizes = [], []
        batches = shuffled_batches(num_rows, batch_size, rng)
        for rows in progress(batches, options, epoch):
            state, loss = step(state, padded_batch(train, rows, batch_size))
            losses.append(loss)
            sizes.append(len(rows))
        mean_loss = np.dot(np.asarray(jax.device_get(losses)), sizes) / num_rows
        return state, float(mean_loss)

    result = run_training_loop(
        state,
        train_epoch,
        lambda state: accuracy(count_correct, state.params, validation),
        options,
        snapshot=copy_state,
        name=name,
    )
    classifier = GloveHaikuClassifier(
        config=config, params=tree_to_numpy(result.state.params)
    )
    return classifier, result.history.to_dict()
