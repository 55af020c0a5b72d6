"""The explanation template each model family reuses under its own namespace.

Free inputs: ``trained_model``, ``vocabulary``, ``ag_news_test``,
``params:max_tokens`` and ``params:explanation``. Outputs:
``lime_explanation_html``, ``lime_explanation_plot`` and
``lime_explanation_summary`` (in memory unless catalogued).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import explain_article


def create_template() -> Pipeline:
    """Build the un-namespaced explanation template.

    Returns:
        A pipeline meant to be wrapped as ``Pipeline(create_template(),
        namespace=..., inputs=..., parameters=...)``.
    """
    return Pipeline(
        [
            Node(
                func=explain_article,
                inputs={
                    "trained_model": "trained_model",
                    "vocabulary": "vocabulary",
                    "test_split": "ag_news_test",
                    "max_tokens": "params:max_tokens",
                    "options": "params:explanation",
                },
                outputs=[
                    "lime_explanation_html",
                    "lime_explanation_plot",
                    "lime_explanation_summary",
                ],
                name="explain_article_node",
            )
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Return an empty pipeline.

    ``find_pipelines()`` calls this for every package under ``pipelines/``. An
    explanation needs a trained model, so each family adds :func:`create_template`
    inside its own namespace and nothing is registered here.

    Returns:
        ``Pipeline([])``.
    """
    return Pipeline([])
