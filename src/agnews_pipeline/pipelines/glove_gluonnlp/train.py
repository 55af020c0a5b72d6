"""Training of a ``glove_gluonnlp`` network: Adam on the dense head, GloVe frozen.

The GloVe matrix is frozen twice over: its ``grad_req`` is ``"null"`` (autograd
neither computes nor stores a gradient for it) and the ``gluon.Trainer`` is given
only the dense head's parameters, as the tutorial did. Runs are deterministic for a
seed: ``mx.random.seed`` fixes the Xavier initialisation of the head and a NumPy
generator the batch order.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from agnews_pipeline.embeddings import (
    FrozenGloveInputs,
    frozen_glove_trainer,
    log_frozen_glove_model,
)
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.training import (
    TrainingOptions,
    ordered_batches,
    progress,
    run_training_loop,
    shuffled_batches,
)

from .models import (
    EMBEDDING_LAYER,
    HEAD_LAYER,
    GloveGluonArchitecture,
    GloveGluonClassifier,
    GloveGluonConfig,
    build_network,
    copy_network,
)

# Rows per forward pass when scoring a split.
EVAL_BATCH_SIZE = 2048


class TrainingState(NamedTuple):
    """The network being trained and the trainer that owns its head's Adam state.

    Attributes:
        network: The Gluon network.
        trainer: Its ``gluon.Trainer``; ``None`` in a snapshot, which only keeps
            parameter values.
        gradient_clip: Bound on the global L2 norm of each step's mean gradient,
            or ``None``.
    """

    network: Any
    trainer: Any
    gradient_clip: float | None = None


def init_network(
    architecture: GloveGluonArchitecture, embedding_matrix: np.ndarray, seed: int
) -> Any:
    """Build the network: Xavier-initialised head, embedding = the GloVe matrix.

    Args:
        architecture: Pooling, layer widths and shapes.
        embedding_matrix: float32 ``(vocab_size, embed_dim)``, copied bit for bit.
        seed: Seeds MXNet's random state before the head is initialised.

    Returns:
        The initialised (not hybridized) network.
    """
    mx = import_mxnet()
    mx.random.seed(seed)
    network = build_network(architecture)
    # Zero, then the matrix: no random draws spent on (or memory for) a (V, d)
    # initialisation that would be overwritten.
    network[EMBEDDING_LAYER].initialize(mx.init.Zero())
    network[EMBEDDING_LAYER].weight.set_data(
        mx.nd.array(np.asarray(embedding_matrix, dtype=np.float32), dtype="float32")
    )
    network[HEAD_LAYER].initialize(mx.init.Xavier())
    return network


def make_trainer(network: Any, learning_rate: float) -> Any:
    """Adam over the dense head's parameters only: the embedding is never handed over."""
    mx = import_mxnet()
    return mx.gluon.Trainer(
        network[HEAD_LAYER].collect_params(),
        "adam",
        {"learning_rate": learning_rate},
    )


@functools.cache
def _softmax_cross_entropy() -> Any:
    return import_mxnet().gluon.loss.SoftmaxCrossEntropyLoss()


def clip_head_gradients(state: TrainingState, batch_rows: int) -> None:
    """Rescale the head's gradients in place so their batch mean has norm <= the clip.

    The gradients are sums over the batch's rows (``trainer.step`` divides them
    later), so their bound is the clip times the rows.
    """
    mx = import_mxnet()
    gradients = [
        parameter.grad()
        for parameter in state.network[HEAD_LAYER].collect_params().values()
    ]
    # check_isfinite=False: no host sync per step, MXNet's engine stays ahead.
    mx.gluon.utils.clip_global_norm(
        gradients, state.gradient_clip * batch_rows, check_isfinite=False
    )


def train_step(state: TrainingState, token_ids: np.ndarray, labels: np.ndarray) -> Any:
    """One Adam step on one batch; returns the batch's summed loss (an NDArray).

    The loss stays on MXNet's asynchronous engine; callers read it once per epoch.
    """
    mx = import_mxnet()
    inputs = mx.nd.array(token_ids, dtype="int32")
    targets = mx.nd.array(labels, dtype="int32")
    with mx.autograd.record():
        losses = _softmax_cross_entropy()(state.network(inputs), targets)
    losses.backward()
    if state.gradient_clip is not None:
        clip_head_gradients(state, len(labels))
    # The per-row gradients were summed; step(n) divides by n: the batch mean.
    state.trainer.step(len(labels))
    return losses.sum()


def accuracy(
    network: Any,
    features: dict[str, np.ndarray],
    batch_size: int = EVAL_BATCH_SIZE,
) -> float:
    """Share of rows of ``features`` whose arg-max class equals the label."""
    mx = import_mxnet()
    num_rows = len(features["labels"])
    if num_rows == 0:
        return float("nan")
    correct = [
        (
            network(mx.nd.array(features["token_ids"][rows], dtype="int32"))
            .argmax(axis=1)
            .astype("int32")
            == mx.nd.array(features["labels"][rows], dtype="int32")
        ).sum()
        for rows in ordered_batches(num_rows, batch_size)
    ]
    return float(sum(value.asscalar() for value in correct)) / num_rows


@frozen_glove_trainer("glove_gluonnlp")
def train_glove_gluon_classifier(
    inputs: FrozenGloveInputs, config: GloveGluonConfig, options: TrainingOptions, name: str
) -> tuple[GloveGluonClassifier, dict[str, Any]]:
    """Train a hybridized Gluon pooling network on the frozen GloVe matrix.

    Arguments as ``frozen_glove_trainer`` describes them (``config``: the pooling and
    dense layer sizes). Train and validation must share their number of positions:
    the flatten pooling's first dense layer is sized by it.

    Returns:
        The trained classifier (best or last epoch) and its history as a dict.
    """
    embedding_matrix, train, validation = inputs
    vocab_size, embed_dim = embedding_matrix.shape
    num_rows, max_tokens = train["token_ids"].shape
    options = options.for_rows(num_rows)
    if validation["token_ids"].shape[1] != max_tokens:
        raise ValueError(
            f"train has {max_tokens} positions per row but validation has "
            f"{validation['token_ids'].shape[1]}"
        )
    architecture = GloveGluonArchitecture(
        **config.model_dump(),
        vocab_size=vocab_size,
        embed_dim=embed_dim,
        max_tokens=max_tokens,
    )
    network = init_network(architecture, embedding_matrix, options.seed)
    network.hybridize(static_alloc=True)
    state = TrainingState(
        network, make_trainer(network, options.learning_rate), options.gradient_clip
    )
    rng = np.random.default_rng(options.seed)
    batch_size = options.batch_size

    head_size = sum(
        parameter.data().size
        for parameter in network[HEAD_LAYER].collect_params().values()
    )
    log_frozen_glove_model(
        name, config.pooling, head_size, embedding_matrix.size, num_rows
    )

    def train_epoch(state: TrainingState, epoch: int) -> tuple[TrainingState, float]:
        batches = shuffled_batches(num_rows, batch_size, rng)
        losses = [
            train_step(state, train["token_ids"][rows], train["labels"][rows])
            for rows in progress(batches, options, epoch)
        ]
        return state, float(sum(loss.asscalar() for loss in losses)) / num_rows

    def snapshot(state: TrainingState) -> TrainingState:
        return TrainingState(copy_network(architecture, state.network), None)

    result = run_training_loop(
        state,
        train_epoch,
        lambda state: accuracy(state.network, validation),
        options,
        snapshot=snapshot,
        name=name,
    )
    classifier = GloveGluonClassifier(architecture, result.state.network)
    return classifier, result.history.to_dict()
