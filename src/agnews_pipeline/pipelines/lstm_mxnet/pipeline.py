"""One template (train, evaluate, explain) instantiated per LSTM approach.

Under the namespace ``lstm_mxnet.lstm_50`` the template's datasets become
``lstm_mxnet.lstm_50.trained_model`` and so on, its parameters
``params:lstm_mxnet.lstm_50.model``. The shared inputs depend on the approach:
``lstm_25`` reads the ``word_regex_25`` token ids, every other approach
``word_regex_50``; all share the ``word_regex`` vocabulary and the test split.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines import evaluation, explanation

from .nodes import train_model

# Approach -> the text_features feature set (tokenizer_maxtokens) it trains on.
APPROACHES: dict[str, str] = {
    "lstm_25": "word_regex_25",
    "lstm_50": "word_regex_50",
    "bilstm": "word_regex_50",
    "lstm_3layer": "word_regex_50",
    "lstm_stacked": "word_regex_50",
    "bilstm_3layer": "word_regex_50",
}
VOCABULARY = "word_regex_vocabulary"
# glove.6B.50d aligned with that vocabulary: where the embedding starts (PCA-reduced
# to 40 dimensions) with training.embedding_init: glove.
GLOVE_MATRIX = "word_regex_6b_50d_glove_matrix"


def shared_inputs(feature_set: str) -> dict[str, str]:
    """Template inputs -> the shared datasets that provide them for one feature set."""
    return {
        "train_features": f"{feature_set}_train_features",
        "validation_features": f"{feature_set}_validation_features",
        "test_features": f"{feature_set}_test_features",
        "vocabulary": VOCABULARY,
        "glove_matrix": GLOVE_MATRIX,
        "ag_news_test": "ag_news_test",
    }


def shared_parameters(feature_set: str) -> dict[str, str]:
    """Template parameters -> the shared parameters that provide them."""
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
                    "test_features": "test_features",
                    "vocabulary": "vocabulary",
                    "glove_matrix": "glove_matrix",
                    "model_options": "params:model",
                    "training_options": "params:training",
                    "validation_options": "params:validation",
                },
                outputs=["trained_model", "training_history"],
                name="train_model_node",
            )
        ]
    )
    return train + evaluation.create_template() + explanation.create_template()


def create_pipeline(**kwargs) -> Pipeline:
    """Instantiate the template once per approach, under ``lstm_mxnet.<approach>``."""
    template = create_template()
    return sum(
        (
            Pipeline(
                template,
                namespace=f"lstm_mxnet.{approach}",
                inputs=shared_inputs(feature_set),
                parameters=shared_parameters(feature_set),
            )
            for approach, feature_set in APPROACHES.items()
        ),
        Pipeline([]),
    )
