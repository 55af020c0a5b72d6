"""One template (train, evaluate, explain) instantiated per RNN approach.

Under the namespace ``rnn_torch.rnn_50`` the template's datasets become
``rnn_torch.rnn_50.trained_model`` and so on, its parameters
``params:rnn_torch.rnn_50.model``. Every approach uses the ``basic_english``
vocabulary; ``rnn_25`` reads the 25-token features, the others the 50-token ones, so
each approach maps the template's inputs to its own feature set.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines import evaluation, explanation

from .nodes import train_model

TOKENIZER = "basic_english"
# glove.6B.50d aligned with the basic_english vocabulary: where the embedding starts
# with training.embedding_init: glove.
GLOVE_MATRIX = "basic_english_6b_50d_glove_matrix"

# Approach -> the text_features feature set (``<tokenizer>_<max_tokens>``) it reads.
APPROACHES: dict[str, str] = {
    "rnn_25": "basic_english_25",
    "rnn_50": "basic_english_50",
    "rnn_3layer": "basic_english_50",
    "rnn_stacked": "basic_english_50",
    "birnn_3layer": "basic_english_50",
}


def shared_inputs(feature_set: str) -> dict[str, str]:
    """Template inputs -> the shared datasets one feature set provides."""
    return {
        "train_features": f"{feature_set}_train_features",
        "validation_features": f"{feature_set}_validation_features",
        "test_features": f"{feature_set}_test_features",
        "vocabulary": f"{TOKENIZER}_vocabulary",
        "glove_matrix": GLOVE_MATRIX,
        "ag_news_test": "ag_news_test",
    }


def shared_parameters(feature_set: str) -> dict[str, str]:
    """Template parameters -> the shared parameters of one feature set."""
    return {"params:max_tokens": f"params:text_features.{feature_set}.max_tokens"}


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
    """Instantiate the template once per approach, under ``rnn_torch.<approach>``."""
    template = create_template()
    return sum(
        (
            Pipeline(
                template,
                namespace=f"rnn_torch.{approach}",
                inputs=shared_inputs(feature_set),
                parameters=shared_parameters(feature_set),
            )
            for approach, feature_set in APPROACHES.items()
        ),
        Pipeline([]),
    )
