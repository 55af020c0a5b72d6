"""Training of an ``rnn_torch`` network: Adam on every parameter, shuffled batches.

The ``training`` options also pick where the trainable embedding starts
(``embedding_init``: torch's default draw, or the approach's GloVe matrix fitted to its
width) and whether each step's gradients are clipped to a global L2 norm
(``gradient_clip``); neither changes a layer of the network.

Determinism: parameters are initialised after ``torch.manual_seed(seed)`` inside
``torch.random.fork_rng``, so the seed fixes the initialisation and (with
``initial_hidden: random``) every random hidden state, without touching the global
generator other code uses; batches come from ``shuffled_batches`` over a numpy
generator seeded with the same seed. Same seed, same machine: same model, bit for bit.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agnews_pipeline.embeddings import trainable_embedding_start
from agnews_pipeline.training import (
    TrainingOptions,
    check_splits,
    ordered_batches,
    progress,
    run_training_loop,
    shuffled_batches,
)

from .models import (
    EMBEDDING,
    RNNClassifier,
    RNNTorchConfig,
    as_index_tensors,
    build_network,
    configure_threads,
    network_logits,
)

logger = logging.getLogger(__name__)

# Rows per forward pass when scoring the validation split.
EVAL_BATCH_SIZE = 2048

# {"token_ids": int64 (N, T), "lengths": int64 (N,), "labels": int64 (N,)} tensors.
Tensors = dict[str, torch.Tensor]


def init_network(config: RNNTorchConfig, vocab_size: int, seed: int) -> nn.ModuleDict:
    """Build the network with torch's default initialisation drawn from ``seed``."""
    torch.manual_seed(seed)
    return build_network(config, vocab_size)


def set_embedding(network: nn.ModuleDict, rows: np.ndarray) -> None:
    """Overwrite the embedding weight with ``rows``; it stays trainable."""
    with torch.no_grad():
        network[EMBEDDING].weight.copy_(torch.from_numpy(rows))


def make_optimizer(network: nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam over every parameter: the embedding is trained too.

    ``fused``: one kernel updates every parameter, where the default per-tensor
    updates of the embedding's millions of entries made a batch-64 step a fifth or more
    slower (``benchmarks/results/rnn_torch_steps.md``).
    """
    return torch.optim.Adam(network.parameters(), lr=learning_rate, fused=True)


def train_step(
    network: nn.ModuleDict,
    optimizer: torch.optim.Optimizer,
    config: RNNTorchConfig,
    batch: Tensors,
    gradient_clip: float | None = None,
) -> torch.Tensor:
    """One Adam step on one batch; returns the batch's mean cross-entropy (detached).

    With ``gradient_clip`` the gradients are first rescaled to that global L2 norm
    at most: one exploding step of a vanilla RNN then cannot wreck the weights.
    """
    network.train()
    optimizer.zero_grad(set_to_none=True)
    logits = network_logits(network, config, batch["token_ids"], batch["lengths"])
    loss = F.cross_entropy(logits, batch["labels"])
    loss.backward()
    if gradient_clip is not None:
        torch.nn.utils.clip_grad_norm_(network.parameters(), gradient_clip)
    optimizer.step()
    return loss.detach()


def to_tensors(features: dict[str, np.ndarray]) -> Tensors:
    """Convert one split's arrays to int64 tensors (shared memory where possible)."""
    token_ids, lengths = as_index_tensors(features["token_ids"], features["lengths"])
    labels = torch.from_numpy(np.asarray(features["labels"], dtype=np.int64))
    return {"token_ids": token_ids, "lengths": lengths, "labels": labels}


def select(tensors: Tensors, rows: np.ndarray | slice) -> Tensors:
    """The batch made of ``rows`` (indices or a slice) of every tensor."""
    if not isinstance(rows, slice):
        rows = torch.from_numpy(np.asarray(rows, dtype=np.int64))
    return {key: value[rows] for key, value in tensors.items()}


def accuracy(
    network: nn.ModuleDict,
    config: RNNTorchConfig,
    tensors: Tensors,
    batch_size: int = EVAL_BATCH_SIZE,
) -> float:
    """Share of rows whose arg-max class equals the label (eval mode, no gradient)."""
    num_rows = len(tensors["labels"])
    if num_rows == 0:
        return float("nan")
    network.eval()
    correct = 0
    with torch.no_grad():
        for rows in ordered_batches(num_rows, batch_size):
            batch = select(tensors, rows)
            logits = network_logits(
                network, config, batch["token_ids"], batch["lengths"]
            )
            correct += int((logits.argmax(-1) == batch["labels"]).sum())
    return correct / num_rows


def train_rnn_classifier(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocab_size: int,
    config: RNNTorchConfig,
    options: TrainingOptions,
    *,
    glove_matrix: np.ndarray | None = None,
    name: str = "rnn_torch",
) -> tuple[RNNClassifier, dict[str, Any]]:
    """Train one approach under the shared training contract.

    Args:
        train_features: ``token_ids`` ``(N, T)``, ``lengths``, ``labels``.
        validation_features: The same for the split scored after each epoch.
        vocab_size: Rows of the embedding (the vocabulary's size).
        config: Layer sizes, nonlinearity, readout and initial hidden state.
        options: Epochs, batch size, learning rate, seed, early stopping,
            gradient clipping, embedding initialisation.
        glove_matrix: ``(vocab_size, d)`` GloVe rows aligned with the vocabulary;
            read only with ``options.embedding_init == "glove"``.
        name: Names the model in log lines.

    Returns:
        The trained classifier (best or last epoch) and its history as a dict.
    """
    train, validation = (
        to_tensors(split)
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
    glove_rows = trainable_embedding_start(
        glove_matrix, vocab_size, config.embed_dim, options
    )
    threads = configure_threads()
    rng = np.random.default_rng(options.seed)
    batch_size = options.batch_size

    with torch.random.fork_rng(devices=[]):
        network = init_network(config, vocab_size, options.seed)
        if glove_rows is not None:
            set_embedding(network, glove_rows)
        optimizer = make_optimizer(network, options.learning_rate)
        logger.info(
            "%s: %d trainable parameters, %d training rows of %d tokens, "
            "readout %s, initial hidden %s, embedding from %s, clip %s, %d threads",
            name,
            sum(parameter.numel() for parameter in network.parameters()),
            num_rows,
            train["token_ids"].shape[1],
            config.readout,
            config.initial_hidden,
            options.embedding_init,
            options.gradient_clip,
            threads,
        )

        def train_epoch(
            network: nn.ModuleDict, epoch: int
        ) -> tuple[nn.ModuleDict, float]:
            losses, sizes = [], []
            batches = shuffled_batches(num_rows, batch_size, rng)
            for rows in progress(batches, options, epoch):
                losses.append(
                    train_step(
                        network,
                        optimizer,
                        config,
                        select(train, rows),
                        options.gradient_clip,
                    )
                )
                sizes.append(len(rows))
            return network, float(np.dot(torch.stack(losses).numpy(), sizes) / num_rows)

        result = run_training_loop(
            network,
            train_epoch,
            lambda network: accuracy(network, config, validation),
            options,
            snapshot=copy.deepcopy,
            name=name,
        )
    return RNNClassifier(config=config, network=result.state), result.history.to_dict()
