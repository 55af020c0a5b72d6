"""The results table over every approach, its charts, and four simple baselines.

The results nodes take every approach's ``metrics`` as an input, so in ``kedro run``
they run after all training. Run alone (``kedro run --pipelines=reporting``) they
read whatever the catalog holds; an untrained approach's metrics load as ``None``
and its row says ``missing``.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines.conv1d_flax.pipeline import (
    APPROACHES as CONV1D_FLAX_APPROACHES,
)
from agnews_pipeline.pipelines.ensemble.pipeline import (
    ENSEMBLE_APPROACH,
    ENSEMBLE_FAMILY,
)
from agnews_pipeline.pipelines.glove_gluonnlp.pipeline import (
    APPROACHES as GLOVE_GLUONNLP_APPROACHES,
)
from agnews_pipeline.pipelines.glove_haiku.pipeline import (
    APPROACHES as GLOVE_HAIKU_APPROACHES,
)
from agnews_pipeline.pipelines.lstm_mxnet.pipeline import (
    APPROACHES as LSTM_MXNET_APPROACHES,
)
from agnews_pipeline.pipelines.rnn_torch.pipeline import (
    APPROACHES as RNN_TORCH_APPROACHES,
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

# Every model the ensemble can combine, family by family.
MEMBER_APPROACHES: dict[str, tuple[str, ...]] = {
    "glove_haiku": tuple(GLOVE_HAIKU_APPROACHES),
    "conv1d_flax": tuple(CONV1D_FLAX_APPROACHES),
    "rnn_torch": tuple(RNN_TORCH_APPROACHES),
    "lstm_mxnet": tuple(LSTM_MXNET_APPROACHES),
    "glove_gluonnlp": tuple(GLOVE_GLUONNLP_APPROACHES),
    BASELINES: ("tfidf_logreg", "fasttext", "char_tfidf_logreg", "tfidf_naive_bayes"),
}

# Every row the table lists, in order: the members, then the ensemble.
FAMILY_APPROACHES: dict[str, tuple[str, ...]] = {
    **MEMBER_APPROACHES,
    ENSEMBLE_FAMILY: (ENSEMBLE_APPROACH,),
}

_BASELINE_NODES = {
    "tfidf_logreg": train_tfidf_baseline,
    "fasttext": train_fasttext_baseline,
    "char_tfidf_logreg": train_tfidf_baseline,
    "tfidf_naive_bayes": train_naive_bayes_baseline,
}


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


def create_results_pipeline() -> Pipeline:
    """The table, its Markdown, the accuracy chart and the confusion-matrix grid."""
    metrics = {
        approach_key(family, approach): f"{family}.{approach}.metrics"
        for family, approaches in FAMILY_APPROACHES.items()
        for approach in approaches
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


def create_pipeline(**kwargs) -> Pipeline:
    """Baselines plus the results nodes (the registry adds the ensemble between)."""
    return create_baselines_pipeline() + create_results_pipeline()
