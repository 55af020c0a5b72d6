"""The results table over every approach, its charts, and five baselines.

The results nodes take every approach's ``metrics`` as an input, so in ``kedro run``
they run after all training. Run alone (``kedro run --pipelines=reporting``) they
read whatever the catalog holds; an untrained approach's metrics load as ``None``
and its row says ``missing``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import Approach, every_approach
from agnews_pipeline.pipelines.ensemble.pipeline import (
    ENSEMBLE_APPROACH,
    ENSEMBLE_FAMILY,
)

from .baselines import (
    evaluate_baseline,
    predict_baseline_splits,
    train_fasttext_baseline,
    train_naive_bayes_baseline,
    train_tfidf_baseline,
)
from .nodes import (
    BASELINES,
    approach_key,
    build_results_table,
    plot_accuracy_chart,
    plot_confusion_grid,
    render_results_markdown,
)
from .transformer_baseline import train_transformer_baseline

_BASELINE_NODES = {
    "tfidf_logreg": train_tfidf_baseline,
    "fasttext": train_fasttext_baseline,
    "char_tfidf_logreg": train_tfidf_baseline,
    "tfidf_naive_bayes": train_naive_bayes_baseline,
    "minilm_finetuned": train_transformer_baseline,
}


def member_approaches(
    approaches: Iterable[Approach] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Every model the ensemble can combine: the approaches (configured unless given), the baselines."""
    members: dict[str, tuple[str, ...]] = {}
    for approach in every_approach() if approaches is None else approaches:
        members[approach.family] = (*members.get(approach.family, ()), approach.name)
    return {**members, BASELINES: tuple(_BASELINE_NODES)}


def table_rows(
    approaches: Iterable[Approach] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Every row the table lists, family by family: the members, then the ensemble."""
    return {**member_approaches(approaches), ENSEMBLE_FAMILY: (ENSEMBLE_APPROACH,)}


def create_baselines_pipeline() -> Pipeline:
    """Per baseline, on the same splits as the neural approaches: train, predict, score.

    The trained model is saved (``baselines.<name>.trained_model``) for
    ``batch_predict``; the validation and test predictions feed the ensemble.
    """
    return sum(
        (
            Pipeline(
                [
                    Node(
                        func=func,
                        inputs={"train": "ag_news_train", "options": "params:options"},
                        outputs="trained_model",
                        name=f"train_{name}_baseline_node",
                    ),
                    Node(
                        func=predict_baseline_splits,
                        inputs={
                            "trained_model": "trained_model",
                            "validation": "ag_news_validation",
                            "test": "ag_news_test",
                        },
                        outputs=["validation_predictions", "test_predictions"],
                        name="predict_baseline_splits_node",
                    ),
                    Node(
                        func=evaluate_baseline,
                        inputs={
                            "trained_model": "trained_model",
                            "validation_predictions": "validation_predictions",
                            "test_predictions": "test_predictions",
                        },
                        outputs="metrics",
                        name="evaluate_baseline_node",
                    ),
                ],
                namespace=f"{BASELINES}.{name}",
                inputs={"ag_news_train", "ag_news_validation", "ag_news_test"},
            )
            for name, func in _BASELINE_NODES.items()
        ),
        Pipeline([]),
    )


def create_results_pipeline(approaches: Iterable[Approach] | None = None) -> Pipeline:
    """The table, its Markdown, the accuracy chart and the confusion-matrix grid."""
    metrics = {
        approach_key(family, approach): f"{family}.{approach}.metrics"
        for family, names in table_rows(approaches).items()
        for approach in names
    }
    with warnings.catch_warnings():
        # Kedro warns about dotted dataset names outside their namespace; reading
        # every family's namespaced metrics is this node's purpose.
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        return _results_pipeline(metrics)


def _results_pipeline(metrics: dict[str, str]) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=build_results_table,
                inputs={
                    "frameworks": "params:reporting.frameworks",
                    "parameters": "parameters",
                    "node_resources": "node_resources",
                    **metrics,
                },
                outputs="results_table",
                name="build_results_table_node",
            ),
            Node(
                func=render_results_markdown,
                inputs={
                    "results_table": "results_table",
                    "node_resources": "node_resources",
                },
                outputs="results_markdown",
                name="render_results_markdown_node",
            ),
            Node(
                func=plot_accuracy_chart,
                inputs={"results_table": "results_table"},
                outputs="results_accuracy_chart",
                name="plot_accuracy_chart_node",
            ),
            Node(
                func=plot_confusion_grid,
                inputs=metrics,
                outputs="results_confusion_grid",
                name="plot_confusion_grid_node",
            ),
        ]
    )


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """Baselines plus the results nodes (the registry adds the ensemble between)."""
    return create_baselines_pipeline() + create_results_pipeline(approaches)
