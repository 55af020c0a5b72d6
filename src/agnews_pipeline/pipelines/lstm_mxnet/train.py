"""Training of an ``lstm_mxnet`` network: ``gluon.Trainer`` with Adam, as the tutorial.

Every batch has the same shape (the last one is padded with rows of weight 0), so the
hybridised network, with static memory, plans its graph once. The state threaded
through :func:`~agnews_pipeline.training.run_training_loop` is the host copy of the
parameters after each epoch: immutable, so the best epoch is kept without copying.

The ``training`` options also pick where the trainable embedding starts
(``embedding_init``: Xavier, or the approach's GloVe matrix reduced to 40 dimensions by
PCA) and whether each step's mean gradient is clipped to a global L2 norm
(``gradient_clip``); neither changes a layer of the network.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.embeddings import trainable_embedding_start
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.training import (
    TrainingOptions,
    check_splits,
    ordered_batches,
    progress,
    run_training_loop,
    shuffled_batches,
)
from agnews_pipeline.training import (
    check_features as shared_check_features,
)
from agnews_pipeline.training import (
    padded_batch as shared_padded_batch,
)

from .models import (
    EMBEDDING_PARAM,
    LSTMClassifier,
    LSTMConfig,
    build_network,
    initialize_network,
    network_parameters,
    readout_lengths,
    to_ndarray,
)

logger = logging.getLogger(__name__)

mx = import_mxnet()
autograd, gluon, nd = mx.autograd, mx.gluon, mx.nd

# Rows per forward pass when scoring the validation split.
EVAL_BATCH_SIZE = 2048

# {"token_ids": float32 (B, T), "lengths": float32 (B,), "labels": float32 (B,),
#  "weights": float32 (B,)} as NDArrays, and "rows": the number of real rows.
Batch = dict[str, Any]


def check_features(
    features: dict[str, np.ndarray], vocab_size: int, num_classes: int, split: str
) -> dict[str, np.ndarray]:
    """Validate one split and return token ids, readout lengths and labels."""
    return _with_readout_lengths(
        shared_check_features(features, vocab_size, num_classes, split, lengths=True)
    )


def _with_readout_lengths(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    width = max(features["token_ids"].shape[1], 1)
    return {**features, "lengths": readout_lengths(features["lengths"], width)}


def padded_batch(
    features: dict[str, np.ndarray], rows: np.ndarray | slice, size: int
) -> Batch:
    """``training.padded_batch`` of token ids, lengths and labels, as NDArrays."""
    batch = shared_padded_batch(
        features, rows, size, keys=("token_ids", "lengths", "labels")
    )
    return {
        **{key: to_ndarray(value) for key, value in batch.items()},
        "rows": int(batch["weights"].sum()),
    }


def make_network(
    config: LSTMConfig,
    vocab_size: int,
    seed: int,
    embedding: np.ndarray | None = None,
) -> gluon.HybridBlock:
    """Build, Xavier-initialise from ``seed`` and hybridise the network.

    ``embedding`` (``(vocab_size, embed_dim)``), when given, replaces the Xavier
    draw of the embedding weight, which stays trainable.
    """
    network = build_network(config, vocab_size)
    initialize_network(network, seed)
    if embedding is not None:
        network._collect_params_with_prefix()[EMBEDDING_PARAM].set_data(
            to_ndarray(embedding)
        )
    network.hybridize(static_alloc=True, static_shape=True)
    return network


def make_trainer(network: gluon.HybridBlock, learning_rate: float) -> gluon.Trainer:
    """Adam over every parameter, the embedding included."""
    return gluon.Trainer(
        network.collect_params(), "adam", {"learning_rate": learning_rate}
    )


def trainable_gradients(network: gluon.HybridBlock) -> list[Any]:
    """The gradient arrays of every parameter the trainer updates."""
    return [
        param.grad()
        for param in network.collect_params().values()
        if param.grad_req != "null"
    ]


def train_step(
    network: gluon.HybridBlock,
    trainer: gluon.Trainer,
    loss: gluon.loss.Loss,
    batch: Batch,
    gradient_clip: float | None = None,
) -> Any:
    """One Adam step on the weighted rows of ``batch``; returns the summed loss.

    With ``gradient_clip`` the mean gradient over the real rows is first rescaled
    to that global L2 norm at most. The sum stays an NDArray, so the caller decides
    when to wait for it.
    """
    with autograd.record():
        logits = network(batch["token_ids"], batch["lengths"])
        losses = loss(logits, batch["labels"], batch["weights"].expand_dims(1))
    losses.backward()
    if gradient_clip is not None:
        # The gradients are sums over the rows until step() divides them by the
        # row count, so the sum's bound is the mean's times that count.
        # check_isfinite=False: no blocking read of the norm on every step.
        gluon.utils.clip_global_norm(
            trainable_gradients(network),
            gradient_clip * batch["rows"],
            check_isfinite=False,
        )
    # step(n) divides the summed gradients by n: the mean over the real rows.
    trainer.step(batch["rows"])
    return losses.sum()


def accuracy(
    network: gluon.HybridBlock,
    features: dict[str, np.ndarray],
    batch_size: int = EVAL_BATCH_SIZE,
) -> float:
    """Share of rows of checked ``features`` whose arg-max class equals the label."""
    num_rows = len(features["labels"])
    if num_rows == 0:
        return float("nan")
    size = min(batch_size, num_rows)
    correct = []
    for rows in ordered_batches(num_rows, size):
        batch = padded_batch(features, rows, size)
        predicted = network(batch["token_ids"], batch["lengths"]).argmax(axis=1)
        correct.append(((predicted == batch["labels"]) * batch["weights"]).sum())
    return float(nd.add_n(*correct).asscalar()) / num_rows


def train_lstm_classifier(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocab_size: int,
    config: LSTMConfig,
    options: TrainingOptions,
    *,
    glove_matrix: np.ndarray | None = None,
    name: str = "lstm_mxnet",
) -> tuple[LSTMClassifier, dict[str, Any]]:
    """Train one approach under the shared training contract.

    Args:
        train_features: ``token_ids`` ``(N, T)``, ``lengths``, ``labels``.
        validation_features: The same for the split scored after each epoch.
        vocab_size: Rows of the embedding (the GluonNLP vocabulary's length).
        config: Layers, readout and head.
        options: Epochs, batch size, learning rate, seed, early stopping,
            gradient clipping, embedding initialisation.
        glove_matrix: ``(vocab_size, d)`` GloVe rows aligned with the vocabulary;
            read only with ``options.embedding_init == "glove"``.
        name: Names the model in log lines.

    Returns:
        The trained classifier (best or last epoch) and its history as a dict.
    """
    train, validation = (
        _with_readout_lengths(split)
        for split in check_splits(
            train_features,
            validation_features,
            vocab_size,
            config.num_classes,
            lengths=True,
        )
    )
    num_rows = len(train["labels"])
    options = options.for_rows(num_rows)
    embedding = trainable_embedding_start(
        glove_matrix, vocab_size, config.embed_dim, options
    )

    network = make_network(config, vocab_size, options.seed, embedding)
    trainer = make_trainer(network, options.learning_rate)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(options.seed)
    batch_size = options.batch_size
    params = network_parameters(network)
    logger.info(
        "%s: %d parameters, %d training rows of %d tokens, readout %s, "
        "embedding from %s, clip %s",
        name,
        sum(value.size for value in params.values()),
        num_rows,
        train["token_ids"].shape[1],
        config.readout,
        options.embedding_init,
        options.gradient_clip,
    )

    # The network and trainer are the live state; the loop's state is the host
    # copy they had after the previous epoch, so `_` below is always current.
    def train_epoch(_: dict[str, np.ndarray], epoch: int) -> tuple[dict, float]:
        batches = shuffled_batches(num_rows, batch_size, rng)
        losses = [
            train_step(
                network,
                trainer,
                loss,
                padded_batch(train, rows, batch_size),
                options.gradient_clip,
            )
            for rows in progress(batches, options, epoch)
        ]
        mean_loss = float(nd.add_n(*losses).asscalar()) / num_rows
        return network_parameters(network), mean_loss

    result = run_training_loop(
        params,
        train_epoch,
        lambda _: accuracy(network, validation),
        options,
        name=name,
    )
    classifier = LSTMClassifier(config=config, params=result.state)
    return classifier, result.history.to_dict()
