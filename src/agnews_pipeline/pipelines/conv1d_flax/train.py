"""Training of a ``conv1d_flax`` network: Optax Adam on every parameter.

As in the flax ``examples/sst2`` example, ``train_step(state, batch)`` is a plain
function over a ``flax.training.train_state.TrainState``; the driver jits it once
(``jax.jit(train_step)``) and threads the state through it. Batch losses stay on
the device until the end of the epoch, which fetches them in one ``jax.device_get``.

Each choice below won on CPU with full-data shapes (the benchmark's, see
``benchmarks/results/``):

- the state is *not* donated: with ``donate_argnums=0`` XLA updates the large
  trainable embedding and its Adam moments in place, which is slower on CPU than
  writing fresh buffers;
- one jitted call per step, not one ``jax.lax.scan`` over a whole shuffled epoch
  (far slower), with batches sliced on the host (gathering them from
  device-resident arrays gained nothing), so a progress bar can follow the steps.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

from agnews_pipeline.embeddings import trainable_embedding_start
from agnews_pipeline.jax_utils import (
    Batch,
    accuracy,
    make_adam,
    tree_to_numpy,
)
from agnews_pipeline.training import (
    TrainingOptions,
    check_splits,
    padded_batch,
    progress,
    run_training_loop,
    shuffled_batches,
)

from .models import (
    EMBEDDING_MODULE,
    EMBEDDING_PARAM,
    Conv1DClassifier,
    Conv1DFlaxConfig,
    build_model,
    pooled_length,
)

logger = logging.getLogger(__name__)

Metrics = dict[str, jax.Array]


@functools.lru_cache(maxsize=16)
def _jitted_init(model: nn.Module) -> Callable[..., dict[str, Any]]:
    # Linen modules compare and hash by their fields, so equal models share one
    # compiled init instead of dispatching dozens of small eager operations.
    return jax.jit(model.init)


def init_params(model: nn.Module, seed: int, max_tokens: int) -> dict[str, Any]:
    """Initialise the ``params`` collection from ``jax.random.PRNGKey(seed)``."""
    dummy = jnp.zeros((1, max_tokens), dtype=jnp.int32)
    return _jitted_init(model)(jax.random.PRNGKey(seed), dummy)["params"]


def with_embedding(params: dict[str, Any], embedding: np.ndarray) -> dict[str, Any]:
    """A copy of ``params`` whose (still trainable) embedding matrix is ``embedding``."""
    current = params[EMBEDDING_MODULE][EMBEDDING_PARAM]
    if embedding.shape != current.shape:
        raise ValueError(
            f"initial embedding is {embedding.shape}, the model's is {current.shape}"
        )
    module = {**params[EMBEDDING_MODULE], EMBEDDING_PARAM: jnp.asarray(embedding)}
    return {**params, EMBEDDING_MODULE: module}


def create_train_state(
    model: nn.Module, params: dict[str, Any], optimizer: optax.GradientTransformation
) -> train_state.TrainState:
    """Pair the model's ``apply`` and the optimizer with the parameters."""
    return train_state.TrainState.create(
        apply_fn=model.apply, params=params, tx=optimizer
    )


def loss_fn(
    params: dict[str, Any], apply_fn: Callable[..., jax.Array], batch: Batch
) -> jax.Array:
    """Softmax cross-entropy averaged over the batch rows whose weight is 1.

    ``batch["weights"]`` is 1 for real rows and 0 for the rows that pad the last
    batch of an epoch to the common shape.
    """
    logits = apply_fn({"params": params}, batch["token_ids"])
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"])
    return (losses * batch["weights"]).sum() / batch["weights"].sum()


def train_step(
    state: train_state.TrainState, batch: Batch
) -> tuple[train_state.TrainState, Metrics]:
    """One Adam step on one batch; returns the new state and the batch loss."""
    loss, grads = jax.value_and_grad(loss_fn)(state.params, state.apply_fn, batch)
    return state.apply_gradients(grads=grads), {"loss": loss}


def count_correct(
    params: dict[str, Any], batch: Batch, *, apply_fn: Callable[..., jax.Array]
) -> jax.Array:
    """Number of weighted rows whose arg-max class is the label."""
    predicted = apply_fn({"params": params}, batch["token_ids"]).argmax(-1)
    return ((predicted == batch["labels"]) * batch["weights"]).sum()


class CompiledFunctions(NamedTuple):
    """The model, optimizer and jitted functions of one training setup."""

    model: nn.Module
    optimizer: optax.GradientTransformation
    step: Callable[[train_state.TrainState, Batch], tuple[Any, Metrics]]
    count_correct: Callable[[dict[str, Any], Batch], jax.Array]


@functools.lru_cache(maxsize=8)
def compiled_functions(
    config: Conv1DFlaxConfig,
    vocab_size: int,
    learning_rate: float,
    gradient_clip: float | None,
) -> CompiledFunctions:
    """Build the model and optimizer and jit the step once per setup.

    A ``TrainState`` carries ``apply_fn`` and ``tx`` as static fields, so reusing
    the same two objects lets a retraining in the same process (another seed, a
    test) reuse the compiled step instead of tracing it again.
    """
    model = build_model(config, vocab_size)
    return CompiledFunctions(
        model=model,
        optimizer=make_adam(learning_rate, gradient_clip),
        step=jax.jit(train_step),
        count_correct=jax.jit(functools.partial(count_correct, apply_fn=model.apply)),
    )


def train_conv1d_classifier(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocab_size: int,
    config: Conv1DFlaxConfig,
    options: TrainingOptions,
    *,
    glove_matrix: np.ndarray | None = None,
    name: str = "conv1d_flax",
) -> tuple[Conv1DClassifier, dict[str, Any]]:
    """Train one approach under the shared training contract.

    Args:
        train_features: ``token_ids`` ``(N, T)``, ``lengths``, ``labels``.
        validation_features: The same for the split scored after each epoch.
        vocab_size: Rows of the embedding matrix (the vocabulary's size).
        config: Architecture and layer sizes.
        options: Epochs, batch size, learning rate, gradient clip, seed, early
            stopping, embedding initialisation.
        glove_matrix: ``(vocab_size, d)`` GloVe rows aligned with the vocabulary;
            read when ``options.embedding_init`` is ``glove``.
        name: Names the model in log lines.

    Returns:
        The trained classifier (best or last epoch) and its history as a dict.
    """
    train, validation = check_splits(
        train_features, validation_features, vocab_size, config.num_classes
    )
    num_rows, max_tokens = train["token_ids"].shape
    options = options.for_rows(num_rows)
    if pooled_length(config, max_tokens) < 1:
        raise ValueError(
            f"{max_tokens} tokens leave no position after a max-pool of window "
            f"{config.pool_window}; use longer sequences or a smaller pool_window"
        )

    glove_rows = trainable_embedding_start(
        glove_matrix, vocab_size, config.embed_dim, options
    )
    compiled = compiled_functions(
        config, vocab_size, options.learning_rate, options.gradient_clip
    )
    params = init_params(compiled.model, options.seed, max_tokens)
    if glove_rows is not None:
        params = with_embedding(params, glove_rows)
    state = create_train_state(compiled.model, params, compiled.optimizer)
    rng = np.random.default_rng(options.seed)
    batch_size = options.batch_size
    logger.info(
        "%s: %s convolution, %s embedding, %d trainable parameters, %d training rows",
        name,
        config.architecture,
        options.embedding_init,
        sum(leaf.size for leaf in jax.tree.leaves(params)),
        num_rows,
    )

    def train_epoch(
        state: train_state.TrainState, epoch: int
    ) -> tuple[train_state.TrainState, float]:
        losses, sizes = [], []
        batches = shuffled_batches(num_rows, batch_size, rng)
        for rows in progress(batches, options, epoch):
            state, metrics = compiled.step(state, padded_batch(train, rows, batch_size))
            losses.append(metrics["loss"])
            sizes.append(len(rows))
        mean_loss = np.dot(np.asarray(jax.device_get(losses)), sizes) / num_rows
        return state, float(mean_loss)

    # States are immutable pytrees and the step donates nothing, so the kept best
    # state needs no copy (the default identity snapshot).
    result = run_training_loop(
        state,
        train_epoch,
        lambda state: accuracy(compiled.count_correct, state.params, validation),
        options,
        name=name,
    )
    classifier = Conv1DClassifier(
        config=config, params=tree_to_numpy(result.state.params)
    )
    return classifier, result.history.to_dict()
