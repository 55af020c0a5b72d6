"""The ensemble: greedy selection on validation only, deterministic, skipping the untrained."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from agnews_pipeline.pipeline_registry import register_pipelines
from agnews_pipeline.pipelines.ensemble.nodes import (
    apply_ensemble,
    combine,
    describe_members,
    evaluate_ensemble,
    fit_ensemble,
    greedy_selection,
    log_loss,
)
from agnews_pipeline.pipelines.evaluation.nodes import predictions_frame

LABELS = np.asarray([0, 1, 2, 3, 0, 1, 2, 3])


def _noisy(labels: np.ndarray, right: list[bool], confidence: float) -> np.ndarray:
    """Probabilities that put ``confidence`` on the true class where ``right``."""
    probabilities = np.full((len(labels), 4), (1 - confidence) / 3)
    for row, (label, ok) in enumerate(zip(labels, right, strict=True)):
        probabilities[row] = (1 - confidence) / 3
        probabilities[row, label if ok else (label + 1) % 4] = confidence
    return probabilities


# Two members wrong on different rows, a third wrong almost everywhere.
GOOD_A = _noisy(LABELS, [True] * 6 + [False, True], 0.7)
GOOD_B = _noisy(LABELS, [False] + [True] * 7, 0.7)
BAD = _noisy(LABELS, [False] * 7 + [True], 0.9)


def _members(**probabilities: np.ndarray) -> dict[str, pd.DataFrame]:
    return {key: predictions_frame(LABELS, value) for key, value in probabilities.items()}


def test_log_loss_and_combination_math():
    probabilities = np.asarray([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    assert log_loss(np.asarray([0, 3]), probabilities) == pytest.approx(
        -(np.log(0.5) + np.log(0.25)) / 2
    )
    first = np.asarray([[1.0, 0.0, 0.0, 0.0]])
    second = np.asarray([[0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(
        combine({"a": first, "b": second}, {"a": 0.75, "b": 0.25}), [[0.75, 0.25, 0.0, 0.0]]
    )
    # Weights need not sum to 1 and weight-0 members need no probabilities.
    np.testing.assert_allclose(
        combine({"a": first, "b": second}, {"a": 3, "b": 1, "c": 0}), [[0.75, 0.25, 0.0, 0.0]]
    )
    with pytest.raises(ValueError, match=r"\['c'\]"):
        combine({"a": first}, {"a": 1, "c": 1})


def test_greedy_selection_averages_complementary_members_and_drops_a_bad_one():
    counts, losses = greedy_selection([GOOD_A, BAD, GOOD_B], LABELS, rounds=10)
    assert counts[1] == 0
    assert counts[0] > 0 and counts[2] > 0
    # The kept prefix is the one with the lowest loss.
    assert len(losses) == 10 and counts.sum() == int(np.argmin(losses)) + 1
    # The average fixes both members' mistakes.
    average = combine({"a": GOOD_A, "b": GOOD_B}, {"a": counts[0], "b": counts[2]})
    assert (average.argmax(axis=1) == LABELS).all()


def test_fit_is_deterministic_and_skips_missing_members(caplog):
    validation = {**_members(fam__a=GOOD_A, fam__bad=BAD, other__b=GOOD_B), "fam__untrained": None}
    with caplog.at_level(logging.INFO):
        first = fit_ensemble({"rounds": 10}, **validation)
    again = fit_ensemble({"rounds": 10}, **validation)
    assert first == again
    assert set(first["weights"]) == {"fam.a", "other.b"}
    assert sum(first["weights"].values()) == pytest.approx(1.0)
    assert first["skipped"] == ["fam.untrained"]
    assert set(first["candidates"]) == {"fam.a", "fam.bad", "other.b"}
    assert first["validation_accuracy"] == 1.0
    assert "fam.untrained has no validation predictions (not trained); skipped" in caplog.text


def test_members_on_other_rows_or_unavailable_are_skipped():
    shifted = predictions_frame(np.roll(LABELS, 1), GOOD_B)
    empty = predictions_frame(np.zeros(0, dtype=int), np.zeros((0, 4)))
    # The stale member comes first; the rows most members share still win.
    fitted = fit_ensemble(
        {"rounds": 5},
        fam__b=shifted,
        fam__a=predictions_frame(LABELS, GOOD_A),
        fam__bad=predictions_frame(LABELS, BAD),
        fam__c=empty,
    )
    assert fitted["weights"] == {"fam.a": 1.0}
    assert fitted["skipped"] == ["fam.b", "fam.c"]
    with pytest.raises(ValueError, match="at least 1 members"):
        fit_ensemble({}, fam__a=None)


def test_apply_scores_test_predictions_with_the_fitted_weights():
    combination = describe_members(
        {**fit_ensemble({"rounds": 10}, **_members(fam__a=GOOD_A, other__b=GOOD_B)),
         "method": "greedy"},
        fam__a={"saved_version": "v1", "tokenizer": "keras", "max_tokens": 50},
        other__b=None,
    )  # fmt: skip
    assert combination["members"]["fam.a"] == {
        "weight": combination["weights"]["fam.a"],
        "model_version": "v1",
        "tokenizer": "keras",
        "max_tokens": 50,
    }
    test = _members(fam__a=GOOD_B, other__b=GOOD_A, fam__untrained=BAD)
    test["fam__untrained"] = None
    predictions = apply_ensemble(combination, **test)
    expected = combine(
        {"fam.a": GOOD_B, "other.b": GOOD_A}, combination["weights"]
    )
    np.testing.assert_allclose(
        predictions.filter(like="probability_").to_numpy(), expected, rtol=1e-6
    )
    metrics = evaluate_ensemble(predictions, combination)
    assert metrics["test_accuracy"] == 1.0
    assert metrics["weights"] == combination["weights"]
    assert metrics["confusion_matrix"]["counts"][0] == [2, 0, 0, 0]
    with pytest.raises(ValueError, match="other.b"):
        apply_ensemble(combination, fam__a=test["fam__a"], other__b=None)


def test_no_test_data_reaches_the_fitting_node():
    pipelines = register_pipelines()
    for name in ("ensemble", "__default__", "reporting"):
        (fit,) = [node for node in pipelines[name].nodes if node.name == "fit_ensemble_node"]
        data = [item for item in fit.inputs if not item.startswith("params:")]
        assert data and all(item.endswith(".validation_predictions") for item in data), data
        assert not any("test" in item for item in fit.inputs)
    ensemble = pipelines["ensemble"]
    readers = {node.name for node in ensemble.nodes if any("test_predictions" in i for i in node.inputs)}
    assert readers <= {"apply_ensemble_node", "evaluate_ensemble_node"}
    # Every approach and the five baselines are candidates.
    assert len(fit.inputs) == 1 + 20 + 5


def test_ensemble_runs_before_the_results_table():
    default = register_pipelines()["__default__"]
    order = [node.name for node in default.nodes]
    assert order.index("evaluate_ensemble_node") < order.index("build_results_table_node")
