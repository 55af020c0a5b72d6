"""One template (train, evaluate, explain) instantiated per Conv1D approach.

Under the namespace ``conv1d_flax.conv1d_single`` the template's datasets become
``conv1d_flax.conv1d_single.trained_model`` and so on, its parameters
``params:conv1d_flax.conv1d_single.model``; the shared token ids, vocabulary and
test split are mapped to the datasets other pipelines produce.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines import evaluation, explanation

from .nodes import train_model

APPROACHES = ("conv1d_single", "conv1d_double")

# Template inputs that every approach shares, and the datasets that provide them
# (the text_features and glove pipelines' outputs, the ingestion's test split).
SHARED_INPUTS = {
    "train_features": "keras_50_train_features",
    "validation_features": "keras_50_validation_features",
    "test_features": "keras_50_test_features",
    "vocabulary": "keras_vocabulary",
    # Read by training only with `embedding_init: glove` (the project recipe).
    "glove_matrix": "keras_6b_50d_glove_matrix",
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
                    "vocabulary": "vocabulary",
                    "glove_matrix": "glove_matrix",
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
    """Instantiate the template once per approach, under ``conv1d_flax.<approach>``."""
    template = create_template()
    return sum(
        (
            Pipeline(
                template,
                namespace=f"conv1d_flax.{approach}",
                inputs=SHARED_INPUTS,
                parameters=SHARED_PARAMETERS,
            )
            for approach in APPROACHES
        ),
        Pipeline([]),
    )
