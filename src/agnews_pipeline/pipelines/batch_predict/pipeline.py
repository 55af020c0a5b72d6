"""Choose the serving model, then score the partitions no run has scored yet.

Two nodes, so two Airflow tasks: what passes between them (``batch_serving_model``)
is persisted. The scoring node confirms ``batch_incoming_articles`` only after its
outputs are saved, so an interrupted run leaves the checkpoint where it was and the
next run scores the same partitions again.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines.ensemble.pipeline import ENSEMBLE_NAME

from .nodes import choose_serving_model, score_partitions

ENSEMBLE_COMBINATION = f"{ENSEMBLE_NAME}.combination"


def create_pipeline(**kwargs) -> Pipeline:
    """Build the two-node batch scoring pipeline (not part of ``__default__``)."""
    with warnings.catch_warnings():
        # The ensemble's combination is a namespaced (dotted) dataset read from here.
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        return _pipeline()


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                func=choose_serving_model,
                inputs={
                    "results_table": "results_table",
                    "trained_models": "trained_models",
                    "options": "params:batch_predict",
                    # Read only when batch_predict.model is "ensemble".
                    "ensemble_combination": ENSEMBLE_COMBINATION,
                },
                outputs="batch_serving_model",
                name="choose_serving_model_node",
            ),
            Node(
                func=score_partitions,
                inputs={
                    "new_partitions": "batch_incoming_articles",
                    "incoming_partitions": "batch_incoming_partitions",
                    "rejected_before": "batch_rejected_partitions_before",
                    "serving_model": "batch_serving_model",
                    "trained_models": "trained_models",
                    "vocabularies": "text_vocabularies",
                },
                outputs=["batch_predictions", "batch_rejected_partitions"],
                confirms="batch_incoming_articles",
                name="score_partitions_node",
            ),
        ]
    )
