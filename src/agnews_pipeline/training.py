"""The training contract every backend implements: options, the epoch loop, history.

Backends supply two callables, one that trains a single epoch and returns its mean loss,
one that scores the validation split; this module owns everything around them (early
stopping, keeping the best epoch, timing, logging), so every family behaves the same.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

State = TypeVar("State")


def available_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class TrainingOptions(BaseModel):
    """The `training` parameter block shared by every backend.

    An approach's block may hold several named recipes and pick one::

        training:
          recipe: project          # or tutorial: the tutorial's own settings
          seed: 42
          recipes:
            project: {epochs: 30, batch_size: 64, patience: 3, ...}
            tutorial: {epochs: 15, batch_size: 1024, ...}

    The chosen recipe's settings apply; a key set beside ``recipes`` (for example
    ``--params <family>.<approach>.training.epochs=3``) overrides it.

    Attributes:
        recipe: Which recipe these settings are, recorded with the results.
        epochs: Maximum number of passes over the training split.
        batch_size: Examples per optimiser step.
        learning_rate: Optimiser step size.
        seed: Seeds parameter initialisation and batch shuffling.
        restore_best: Keep the epoch with the best validation accuracy.
        patience: Stop after this many epochs without a better validation
            accuracy; ``None`` trains every epoch (the tutorials' setting).
        gradient_clip: Rescale each step's gradients to at most this global L2
            norm; ``None`` leaves them as they are.
        batch_rows: Training rows ``batch_size`` and ``learning_rate`` are set for.
            With more rows the batch grows in proportion, so an epoch takes as many
            optimiser steps as on ``batch_rows`` rows, each averaging more examples,
            and the learning rate by the square root of that factor (the
            square-root scaling rule for Adam, Malladi et al. 2022); with fewer
            rows, or ``None``, both stay as set (:meth:`for_rows`).
        embedding_init: How a trainable embedding starts: ``random`` (the
            framework's initialiser, as the tutorials) or ``glove`` (the GloVe
            matrix the project builds for the approach's vocabulary, fitted to the
            embedding's width by :func:`agnews_pipeline.embeddings.glove_initial_embedding`).
            Frozen-GloVe families accept only ``random``, their embedding being
            GloVe already.
        progress_bar: Show a progress bar over the batches of each epoch on an
            interactive terminal (never in logs written to a file or a pipe).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipe: str = "project"
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(1024, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    seed: int = 0
    restore_best: bool = True
    patience: int | None = Field(None, ge=1)
    gradient_clip: float | None = Field(None, gt=0)
    batch_rows: int | None = Field(None, ge=1)
    embedding_init: Literal["random", "glove"] = "random"
    progress_bar: bool = True

    @model_validator(mode="before")
    @classmethod
    def _select_recipe(cls, data: Any) -> Any:
        """Flatten ``recipe`` + ``recipes`` into the chosen recipe's settings."""
        if not isinstance(data, dict) or "recipes" not in data:
            return data
        settings = dict(data)
        recipes = settings.pop("recipes") or {}
        name = settings.setdefault("recipe", "project")
        if name not in recipes:
            raise ValueError(
                f"training.recipe is {name!r} but training.recipes defines only "
                f"{sorted(recipes)}"
            )
        return {**recipes[name], **settings}

    def for_rows(self, num_rows: int) -> TrainingOptions:
        """The settings to train on ``num_rows`` rows: ``batch_rows`` applied.

        The batch never exceeds the rows there are.
        """
        if self.batch_rows is None or num_rows <= self.batch_rows:
            batch_size = min(self.batch_size, num_rows)
            return self.model_copy(update={"batch_size": batch_size})
        factor = num_rows / self.batch_rows
        scaled = self.model_copy(
            update={
                "batch_size": min(round(self.batch_size * factor), num_rows),
                "learning_rate": self.learning_rate * math.sqrt(factor),
            }
        )
        logger.info(
            "%d training rows, %.2f times batch_rows %d: batch %d -> %d, "
            "learning rate %.3g -> %.3g",
            num_rows,
            factor,
            self.batch_rows,
            self.batch_size,
            scaled.batch_size,
            self.learning_rate,
            scaled.learning_rate,
        )
        return scaled

    def summary(self) -> dict[str, Any]:
        """The settings that shaped the trained model, for its history and the report."""
        return self.model_dump(exclude={"progress_bar"})


class ValidationOptions(BaseModel):
    """The ``validation`` parameter block of an approach.

    Attributes:
        split: The split scored after every epoch, which early stopping and
            ``restore_best`` act on. ``"test"`` reproduces the tutorials that
            scored the test split there; with ``restore_best`` that also selects
            the epoch on the test split, so the test accuracy is then optimistic.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Literal["validation", "test"] = "validation"

    def scored_split(
        self,
        validation_features: dict[str, np.ndarray],
        test_features: dict[str, np.ndarray],
        name: str,
    ) -> dict[str, np.ndarray]:
        """The features to score after each epoch; warns when they are the test's."""
        if self.split == "validation":
            return validation_features
        logger.warning(
            "%s: selecting epochs on the test split, as the tutorial did; the test "
            "accuracy is optimistic",
            name,
        )
        return test_features


@dataclass
class TrainingHistory:
    """Per-epoch record of one training run."""

    train_loss: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    recipe: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the history as plain JSON-ready values."""
        return {
            "epochs": len(self.train_loss),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "recipe": self.recipe,
            "train_loss": self.train_loss,
            "validation_accuracy": self.validation_accuracy,
            "seconds": self.seconds,
            "train_seconds": float(sum(self.seconds)),
            "best_validation_accuracy": (
                self.validation_accuracy[self.best_epoch - 1]
                if self.validation_accuracy
                else None
            ),
        }


@dataclass
class TrainingResult(Generic[State]):
    """The state to keep and the history that led to it."""

    state: State
    history: TrainingHistory


def check_features(
    features: dict[str, np.ndarray],
    vocab_size: int,
    num_classes: int,
    split: str,
    *,
    vocabulary: str = "the vocabulary",
    lengths: bool = False,
) -> dict[str, np.ndarray]:
    """Validate one split of token-id features before a model trains on it.

    Args:
        features: ``token_ids`` ``(N, T)``, ``labels`` ``(N,)`` and, when
            ``lengths`` is true, ``lengths`` ``(N,)``.
        vocab_size: How many token ids the model can embed.
        num_classes: How many classes the labels may name.
        split: Names the split in the errors.
        vocabulary: What ``vocab_size`` counts, for the errors.
        lengths: Whether the model reads each row's length.

    Returns:
        Contiguous int32 ``token_ids`` and ``labels``, plus ``lengths`` as given.

    Raises:
        ValueError: Naming the split and what was expected.
    """
    required = ["token_ids", "labels", *(["lengths"] if lengths else [])]
    missing = sorted(set(required) - set(features))
    if missing:
        raise ValueError(f"{split} features lack {missing}")
    token_ids = np.ascontiguousarray(features["token_ids"], dtype=np.int32)
    labels = np.ascontiguousarray(features["labels"], dtype=np.int32)
    checked = {"token_ids": token_ids, "labels": labels}
    if lengths:
        checked["lengths"] = np.asarray(features["lengths"])
    if token_ids.ndim != 2 or any(len(value) != len(token_ids) for value in checked.values()):
        per_row = "one label and one length" if lengths else "one label"
        shapes = ", ".join(str(value.shape) for value in checked.values())
        raise ValueError(
            f"{split} features: token_ids must be (N, T) with {per_row} per row, "
            f"got {shapes}"
        )
    if token_ids.size and (token_ids.min() < 0 or token_ids.max() >= vocab_size):
        raise ValueError(
            f"{split} features: token ids span [{token_ids.min()}, {token_ids.max()}] "
            f"but {vocabulary} has {vocab_size} rows; were the features built "
            "together with it (the same tokenizer, the same vocabulary)?"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{split} features: labels must lie in 0..{num_classes - 1}, "
            f"got {labels.min()}..{labels.max()}"
        )
    return checked


def check_splits(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    vocab_size: int,
    num_classes: int,
    **options: Any,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`check_features` of both splits, which must both have rows.

    Args:
        train_features: The split the model trains on.
        validation_features: The split scored after each epoch.
        vocab_size: How many token ids the model can embed.
        num_classes: How many classes the labels may name.
        **options: ``vocabulary`` and ``lengths`` of :func:`check_features`.

    Returns:
        The checked train and validation features.
    """
    train = check_features(train_features, vocab_size, num_classes, "train", **options)
    validation = check_features(
        validation_features, vocab_size, num_classes, "validation", **options
    )
    if len(train["labels"]) == 0 or len(validation["labels"]) == 0:
        raise ValueError(
            "train and validation features must both have rows: training needs "
            "the first and early stopping / restore_best the second"
        )
    return train, validation


def shuffled_batches(
    num_examples: int,
    batch_size: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Split a fresh permutation of ``range(num_examples)`` into batches of indices."""
    order = rng.permutation(num_examples)
    return [order[i : i + batch_size] for i in range(0, num_examples, batch_size)]


def ordered_batches(num_examples: int, batch_size: int) -> Iterator[slice]:
    """Yield contiguous slices covering ``range(num_examples)`` in order."""
    for start in range(0, num_examples, batch_size):
        yield slice(start, min(start + batch_size, num_examples))


def padded_batch(
    features: dict[str, np.ndarray],
    rows: np.ndarray | slice,
    size: int,
    keys: tuple[str, ...] = ("token_ids", "labels"),
) -> dict[str, np.ndarray]:
    """Gather ``rows`` of ``keys`` and pad them to ``size`` rows, with ``weights``.

    Every batch then has the same shape, so a compiled step or forward pass (a jitted
    JAX function, a hybridised Gluon block) is planned once; the padding rows repeat
    row 0 and have weight 0, which keeps them out of the loss and the accuracy.
    """
    rows = np.arange(len(features["labels"]))[rows] if isinstance(rows, slice) else rows
    weights = np.zeros(size, dtype=np.float32)
    weights[: len(rows)] = 1.0
    if len(rows) < size:
        rows = np.concatenate([rows, np.zeros(size - len(rows), dtype=rows.dtype)])
    return {**{key: features[key][rows] for key in keys}, "weights": weights}


def progress(batches: list, options: TrainingOptions, epoch: int) -> Any:
    """Wrap the batches of one epoch in a progress bar when the options ask for one."""
    return tqdm(
        batches,
        desc=f"epoch {epoch}/{options.epochs}",
        unit="batch",
        leave=False,
        # None: tqdm's own check, so piped and scheduled runs keep clean logs.
        disable=None if options.progress_bar else True,
    )


def run_training_loop(
    state: State,
    train_epoch: Callable[[State, int], tuple[State, float]],
    validation_accuracy: Callable[[State], float],
    options: TrainingOptions,
    *,
    snapshot: Callable[[State], State] = lambda state: state,
    name: str = "model",
) -> TrainingResult[State]:
    """Train epoch by epoch under the shared contract.

    Args:
        state: The initial training state (parameters, optimiser state, ...).
        train_epoch: ``(state, epoch) -> (new_state, mean_train_loss)``.
        validation_accuracy: Scores a state on the validation split.
        options: The shared training options.
        snapshot: Copies a state so later epochs cannot mutate the kept one
            (identity for immutable JAX pytrees, a deep copy for torch or MXNet).
        name: Names the model in log lines.

    Returns:
        The best (``restore_best``) or last state, and the history.
    """
    history = TrainingHistory(recipe=options.summary())
    best_state, best_accuracy = snapshot(state), -np.inf
    epochs_without_improvement = 0
    for epoch in range(1, options.epochs + 1):
        started = time.perf_counter()
        state, loss = train_epoch(state, epoch)
        accuracy = float(validation_accuracy(state))
        seconds = time.perf_counter() - started
        history.train_loss.append(float(loss))
        history.validation_accuracy.append(accuracy)
        history.seconds.append(seconds)
        logger.info(
            "%s epoch %d/%d: train loss %.4f, validation accuracy %.4f, %.1f s",
            name,
            epoch,
            options.epochs,
            loss,
            accuracy,
            seconds,
        )
        if accuracy > best_accuracy:
            best_accuracy, history.best_epoch = accuracy, epoch
            best_state = snapshot(state)
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
        if options.patience is not None and epochs_without_improvement >= options.patience:
            history.stopped_early = epoch < options.epochs
            logger.info(
                "%s: no better validation accuracy for %d epochs, stopping after epoch %d",
                name,
                options.patience,
                epoch,
            )
            break
    if not options.restore_best:
        history.best_epoch = len(history.train_loss)
        return TrainingResult(state=state, history=history)
    return TrainingResult(state=best_state, history=history)
