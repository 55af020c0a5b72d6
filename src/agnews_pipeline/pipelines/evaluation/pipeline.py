"""The evaluation template each model family reuses under its own namespace.

Free inputs: ``trained_model``, ``test_features``, ``validation_features``,
``training_history``, ``vocabulary``, ``params:reference`` and ``params:max_tokens``.
Outputs: ``test_predictions``, ``validation_predictions`` (what the ensemble fits
on), ``metrics`` and ``confusion_matrix_plot``. Under the namespace ``glove_haiku.mean``
they become ``glove_haiku.mean.metrics`` and so on, which the catalog's
``{family}.{approach}.*`` factories persist.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import (
    evaluate_predictions,
    plot_confusion_matrix,
    predict_test_split,
    predict_validation_split,
)


def create_template() -> Pipeline:
    """Build the un-namespaced evaluation template.

    Returns:
        A pipeline meant to be wrapped as ``Pipeline(create_template(),
        namespace=..., inputs=..., parameters=...)``.
    """
    return Pipeline(
        [
            Node(
                func=predict_test_split,
                inputs={
                    "trained_model": "trained_model",
                    "test_features": "test_features",
                },
                outputs="test_predictions",
                name="predict_test_split_node",
            ),
            Node(
                func=predict_validation_split,
                inputs={
                    "trained_model": "trained_model",
                    "validation_features": "validation_features",
                },
                outputs="validation_predictions",
                name="predict_validation_split_node",
            ),
            Node(
                func=evaluate_predictions,
                inputs={
                    "test_predictions": "test_predictions",
                    "trained_model": "trained_model",
                    "validation_predictions": "validation_predictions",
                    "training_history": "training_history",
                    "reference": "params:reference",
                    "vocabulary": "vocabulary",
                    "max_tokens": "params:max_tokens",
                },
                outputs="metrics",
                name="evaluate_predictions_node",
            ),
            Node(
                func=plot_confusion_matrix,
                inputs={"metrics": "metrics"},
                outputs="confusion_matrix_plot",
                name="plot_confusion_matrix_node",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Return an empty pipeline.

    ``find_pipelines()`` calls this for every package under ``pipelines/``. The
    evaluation nodes only make sense inside a model family's namespace, so each
    family adds :func:`create_template` itself and nothing is registered here.

    Returns:
        ``Pipeline([])``.
    """
    return Pipeline([])
