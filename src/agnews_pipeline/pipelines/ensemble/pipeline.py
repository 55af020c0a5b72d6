"""The ensemble over every approach and baseline: fit on validation, apply to test.

``fit_ensemble_node`` reads only the members' validation predictions;
``describe_ensemble_members_node`` adds each weighted member's model version and
input from its metrics; ``apply_ensemble_node`` is the only node that reads test
predictions. Run alone (``kedro run --pipelines=ensemble``) it combines whatever
the catalog holds; an untrained member's predictions load as ``None`` and it is
skipped.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import Approach, approach_key
from agnews_pipeline.pipelines.evaluation.nodes import plot_confusion_matrix

from .nodes import (
    apply_ensemble,
    describe_members,
    evaluate_ensemble,
    fit_ensemble,
)

ENSEMBLE_FAMILY = "ensemble"
ENSEMBLE_APPROACH = "greedy_selection"
ENSEMBLE_NAME = f"{ENSEMBLE_FAMILY}.{ENSEMBLE_APPROACH}"


def _members(dataset: str, approaches: list[Approach] | None) -> dict[str, str]:
    # Imported here: reporting's pipeline module imports this one for the table.
    from agnews_pipeline.pipelines.reporting.pipeline import member_approaches  # noqa: PLC0415

    return {
        approach_key(family, approach): f"{family}.{approach}.{dataset}"
        for family, names in member_approaches(approaches).items()
        for approach in names
    }


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """Fit, describe, apply, score and plot the ensemble (over the configured approaches unless given)."""
    approaches = None if approaches is None else list(approaches)
    with warnings.catch_warnings():
        # Kedro warns about dotted dataset names outside a namespace; reading every
        # family's namespaced predictions is these nodes' purpose.
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        return Pipeline(
            [
                Node(
                    func=fit_ensemble,
                    inputs={
                        "options": f"params:{ENSEMBLE_NAME}.options",
                        **_members("validation_predictions", approaches),
                    },
                    outputs=f"{ENSEMBLE_NAME}.fitted_weights",
                    name="fit_ensemble_node",
                ),
                Node(
                    func=describe_members,
                    inputs={
                        "combination": f"{ENSEMBLE_NAME}.fitted_weights",
                        **_members("metrics", approaches),
                    },
                    outputs=f"{ENSEMBLE_NAME}.combination",
                    name="describe_ensemble_members_node",
                ),
                Node(
                    func=apply_ensemble,
                    inputs={
                        "combination": f"{ENSEMBLE_NAME}.fitted_weights",
                        **_members("test_predictions", approaches),
                    },
                    outputs=f"{ENSEMBLE_NAME}.test_predictions",
                    name="apply_ensemble_node",
                ),
                Node(
                    func=evaluate_ensemble,
                    inputs={
                        "test_predictions": f"{ENSEMBLE_NAME}.test_predictions",
                        "combination": f"{ENSEMBLE_NAME}.combination",
                    },
                    outputs=f"{ENSEMBLE_NAME}.metrics",
                    name="evaluate_ensemble_node",
                ),
                Node(
                    func=plot_confusion_matrix,
                    inputs={"metrics": f"{ENSEMBLE_NAME}.metrics"},
                    outputs=f"{ENSEMBLE_NAME}.confusion_matrix_plot",
                    name="plot_ensemble_confusion_matrix_node",
                ),
            ]
        )
