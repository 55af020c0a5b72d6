"""One template (train, evaluate, explain) instantiated per pooling approach.

Under the namespace ``glove_haiku.mean`` the template's datasets become
``glove_haiku.mean.trained_model`` and so on, its parameters
``params:glove_haiku.mean.model``; the shared token ids, GloVe matrix, vocabulary
and test split are mapped to the datasets other pipelines produce.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines import evaluation, explanation

from .nodes import train_model

APPROACHES = ("flatten", "mean", "sum")

# Template inputs that every approach shares, and the datasets that provide them
# (the text_features and glove pipelines' outputs, the ingestion's test split).
SHARED_INPUTS = {
    "train_features": "keras_50_train_features",
    "validation_features": "keras_50_validation_features",
    "test_features": "keras_50_test_features",
    "embedding_matrix": "keras_6b_50d_glove_matrix",
    "embedding_coverage": "keras_6b_50d_glove_coverage",
    "vocabulary": "keras_vocabulary",
    "ag_news_test": "ag_news_test",
}
SHARED_PARAMETERS = {"params:max_tokens": "params:text_features.keras_50.max_tokens"}


def create_template() -> Pipeline:
    """Build the un-namespaced train, evaluate and explain template."""
    train = Pipeline(
        [
            Node(
                func=train_model,
                inputs={
                    "train_features": "train_features",
                    "validation_features": "validation_features",
                    "embedding_matrix": "embedding_matrix",
                    "embedding_coverage": "embedding_coverage",
                    "model_options": "params:model",
                    "training_options": "params:training",
                },
                outputs=["trained_model", "training_history"],
                name="train_model_node",
            )
        ]
    )
    return train + evaluation.create_template() + explanation.create_template()


def create_pipeline(**kwargs) -> Pipeline:
    """Instantiate the template once per approach, under ``glove_haiku.<approach>``."""
    template = create_template()
    return sum(
        (
            Pipeline(
                template,
                namespace=f"glove_haiku.{approach}",
                inputs=SHARED_INPUTS,
                parameters=SHARED_PARAMETERS,
            )
            for approach in APPROACHES
        ),
        Pipeline([]),
    )
