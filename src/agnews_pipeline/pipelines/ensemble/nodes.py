"""Nodes of the ``ensemble`` pipeline: greedy ensemble selection on the validation split.

The combination is a weighted average of member class probabilities, the weights
found by forward selection with replacement (Caruana et al., "Ensemble Selection
from Libraries of Models", ICML 2004): starting from nothing, repeatedly add the
member (again, if it helps most) whose addition gives the lowest validation
log-loss, and keep the best prefix. It has no free parameters beyond the number of
rounds, weights are multiples of 1/rounds and non-negative, and a member that does
not help gets weight 0: robust with a few hundred validation rows, where a learned
stacker overfits. It is fitted on validation predictions only; test predictions
reach only the node that applies it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.approaches import split_key
from agnews_pipeline.pipelines.evaluation.nodes import (
    classification_metrics,
    prediction_probabilities,
    predictions_frame,
)

logger = logging.getLogger(__name__)

# Probabilities are clipped before the log: a confident wrong member must not make
# the loss infinite.
_EPSILON = 1e-7


class EnsembleOptions(BaseModel):
    """The ``ensemble.greedy_selection.options`` parameter block.

    Attributes:
        rounds: Selection steps; weights are multiples of ``1 / best prefix``.
        min_members: Fewest usable members to fit on; with fewer the fit fails.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(40, ge=1)
    min_members: int = Field(1, ge=1)


def member_name(key: str) -> str:
    """``glove_haiku__mean`` (a member's keyword input) -> ``glove_haiku.mean``."""
    return ".".join(split_key(key, "ensemble"))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean negative log-probability of the true class.

    Args:
        labels: True class indices, ``(N,)``.
        probabilities: ``(N, C)`` class probabilities.

    Returns:
        The mean log-loss (natural log).
    """
    picked = probabilities[np.arange(len(labels)), np.asarray(labels, dtype=int)]
    return float(-np.mean(np.log(np.clip(picked, _EPSILON, 1.0))))


def greedy_selection(
    probabilities: list[np.ndarray], labels: np.ndarray, rounds: int
) -> tuple[np.ndarray, list[float]]:
    """Caruana's forward selection with replacement over averaged probabilities.

    Ties go to the member listed first, so the result depends only on the inputs.

    Args:
        probabilities: One ``(N, C)`` array per member, rows aligned.
        labels: True class indices, ``(N,)``.
        rounds: Selection steps.

    Returns:
        ``(counts, losses)``: how often each member was picked in the best prefix
        (weights are ``counts / counts.sum()``) and the log-loss after each step.
    """
    stacked = np.stack(probabilities)
    total = np.zeros_like(stacked[0])
    counts = np.zeros(len(probabilities), dtype=np.int64)
    picks: list[int] = []
    losses: list[float] = []
    for step in range(1, rounds + 1):
        candidate_losses = [log_loss(labels, (total + member) / step) for member in stacked]
        best = int(np.argmin(candidate_losses))  # argmin keeps the first of equal losses
        picks.append(best)
        losses.append(candidate_losses[best])
        total += stacked[best]
    # The best prefix: adding more once the loss stops falling only adds noise.
    length = int(np.argmin(losses)) + 1
    for pick in picks[:length]:
        counts[pick] += 1
    return counts, losses


def _usable_members(
    predictions: dict[str, pd.DataFrame | None], split: str
) -> dict[str, pd.DataFrame]:
    usable = {}
    for key, frame in predictions.items():
        name = member_name(key)
        if frame is None:
            logger.info("Ensemble: %s has no %s predictions (not trained); skipped", name, split)
        elif frame.empty:
            logger.info("Ensemble: %s has empty %s predictions (unavailable); skipped", name,
                        split)  # fmt: skip
        else:
            usable[name] = frame
    return usable


def _aligned_probabilities(
    usable: dict[str, pd.DataFrame],
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The members scored on the same rows, with those rows' labels.

    The reference rows are those most members were scored on (the first such
    member's on a tie): one stale member from another data set or split seed must not
    exclude all the others, and cannot be averaged with them row by row.
    """
    signatures = [frame["label"].to_numpy().tobytes() for frame in usable.values()]
    if not signatures:
        return {}, None
    majority = max(signatures, key=signatures.count)
    aligned = {}
    for (name, frame), signature in zip(usable.items(), signatures, strict=True):
        if signature != majority:
            logger.warning("Ensemble: %s was scored on different validation rows; skipped",
                           name)  # fmt: skip
            continue
        aligned[name] = prediction_probabilities(frame)
    labels = next(
        frame["label"].to_numpy()
        for frame, signature in zip(usable.values(), signatures, strict=True)
        if signature == majority
    )
    return aligned, labels


def fit_ensemble(
    options: EnsembleOptions, **validation_predictions: pd.DataFrame | None
) -> dict[str, Any]:
    """Choose member weights by greedy selection on the validation split only.

    Args:
        options: The ensemble's options (a dict is validated).
        **validation_predictions: ``<family>__<approach>`` to that member's
            validation predictions, or ``None`` when it is not trained.

    Returns:
        ``method``, ``weights`` (``{member: weight}``, members with weight > 0, in
        input order), ``candidates`` (each usable member's validation accuracy and
        log-loss), ``skipped`` members, ``rounds``, ``selection_losses``,
        ``validation_accuracy``, ``validation_log_loss`` and ``validation_examples``.

    Raises:
        ValueError: If fewer than ``min_members`` members have predictions.
    """
    options = EnsembleOptions.model_validate(options)
    aligned, reference_labels = _aligned_probabilities(
        _usable_members(validation_predictions, "validation")
    )
    if len(aligned) < options.min_members:
        raise ValueError(
            f"the ensemble needs at least {options.min_members} members with validation "
            f"predictions; found {sorted(aligned)}. Train some approaches first (e.g. "
            "kedro run --pipelines=glove_haiku) and the baselines (--pipelines=reporting)"
        )
    names = list(aligned)
    labels = np.asarray(reference_labels, dtype=int)
    counts, losses = greedy_selection([aligned[name] for name in names], labels, options.rounds)
    weights = counts / counts.sum()
    combined = combine(dict(zip(names, aligned.values(), strict=True)),
                       dict(zip(names, weights, strict=True)))  # fmt: skip
    chosen = {name: float(weight) for name, weight in zip(names, weights, strict=True) if weight}
    validation_accuracy = float(np.mean(combined.argmax(axis=1) == labels))
    logger.info(
        "Ensemble: %d of %d members weighted (%s); validation accuracy %.4f",
        len(chosen),
        len(names),
        ", ".join(f"{name} {weight:.3f}" for name, weight in chosen.items()),
        validation_accuracy,
    )
    return {
        "method": "greedy ensemble selection with replacement (Caruana et al. 2004), "
        "validation log-loss",
        "weights": chosen,
        "candidates": {
            name: {
                "validation_accuracy": float(np.mean(aligned[name].argmax(axis=1) == labels)),
                "validation_log_loss": log_loss(labels, aligned[name]),
            }
            for name in names
        },
        "skipped": sorted(set(map(member_name, validation_predictions)) - set(names)),
        "rounds": options.rounds,
        "selection_losses": losses,
        "validation_accuracy": validation_accuracy,
        "validation_log_loss": log_loss(labels, combined),
        "validation_examples": len(labels),
    }


def combine(probabilities: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The weighted average of the members' class probabilities.

    Args:
        probabilities: ``{member: (N, C) probabilities}``, holding every weighted member.
        weights: ``{member: weight}``; members with weight 0 may be left out.

    Returns:
        ``(N, C)`` probabilities, rows summing to 1.

    Raises:
        ValueError: If a weighted member has no probabilities.
    """
    missing = sorted(name for name, weight in weights.items() if weight and name not in probabilities)
    if missing:
        raise ValueError(f"the ensemble needs the predictions of {missing}, which are missing")
    total = sum(weight for weight in weights.values())
    return sum(
        weight / total * np.asarray(probabilities[name], dtype=np.float64)
        for name, weight in weights.items()
        if weight
    )


def describe_members(combination: dict[str, Any], **member_metrics: dict[str, Any] | None
                     ) -> dict[str, Any]:  # fmt: skip
    """Add what serving needs to the fitted weights: each member's model and input.

    Args:
        combination: Output of :func:`fit_ensemble`.
        **member_metrics: ``<family>__<approach>`` to that member's metrics.

    Returns:
        The combination plus ``members``: per weighted member its ``weight``,
        ``model_version`` (the run that evaluated it), ``tokenizer`` and
        ``max_tokens`` (``None`` for a baseline, which reads raw text).
    """
    metrics = {member_name(key): value for key, value in member_metrics.items()}
    members = {}
    for name, weight in combination["weights"].items():
        found = metrics.get(name) or {}
        members[name] = {
            "weight": weight,
            "model_version": found.get("saved_version"),
            "tokenizer": found.get("tokenizer") if not name.startswith("baselines.") else None,
            "max_tokens": found.get("max_tokens"),
        }
    return {**combination, "members": members}


def apply_ensemble(
    combination: dict[str, Any], **test_predictions: pd.DataFrame | None
) -> pd.DataFrame:
    """Combine the members' test probabilities with the fitted weights.

    Args:
        combination: Output of :func:`fit_ensemble` (its ``weights``).
        **test_predictions: ``<family>__<approach>`` to that member's test predictions.

    Returns:
        The ensemble's test predictions, in the evaluation template's format.

    Raises:
        ValueError: If a weighted member lacks test predictions or they are not on
            the same rows as the others'.
    """
    weights = combination["weights"]
    # Only the weighted members matter here; the others were skipped (and said so)
    # by the fit.
    usable = _usable_members(
        {key: frame for key, frame in test_predictions.items() if member_name(key) in weights},
        "test",
    )
    labels = None
    probabilities = {}
    for name in weights:
        if name not in usable:
            continue
        frame = usable[name]
        if labels is None:
            labels = frame["label"].to_numpy()
        elif not np.array_equal(frame["label"].to_numpy(), labels):
            raise ValueError(f"{name}'s test predictions are not on the same rows as the others'")
        probabilities[name] = prediction_probabilities(frame)
    combined = combine(probabilities, weights)
    return predictions_frame(labels, combined)


def evaluate_ensemble(
    test_predictions: pd.DataFrame, combination: dict[str, Any]
) -> dict[str, Any]:
    """The ensemble's metrics, in the shape of an approach's ``metrics.json``.

    Args:
        test_predictions: Output of :func:`apply_ensemble`.
        combination: Output of :func:`fit_ensemble` (its ``weights``).

    Returns:
        ``test_accuracy``, classification report, confusion matrix, validation
        accuracy (on the rows the weights were fitted on, so optimistic), members
        and weights, and the selection details.
    """
    scores = classification_metrics(
        test_predictions["label"].to_numpy(), test_predictions["predicted"].to_numpy()
    )
    logger.info("Ensemble: test accuracy %.4f with %d members", scores["test_accuracy"],
                len(combination["weights"]))  # fmt: skip
    return {
        "backend": "ensemble",
        **scores,
        "validation_accuracy": combination["validation_accuracy"],
        "best_validation_accuracy": combination["validation_accuracy"],
        "validation_fitted": True,
        "reference_test_accuracy": None,
        "difference_from_reference": None,
        "method": combination["method"],
        "weights": combination["weights"],
        "members": combination["members"],
        "candidates": combination["candidates"],
        "skipped": combination["skipped"],
        "model": {"members": len(combination["weights"])},
    }

