"""Tokens and a vocabulary per tokenizer, padded token ids per (tokenizer, max_tokens).

Names key every artifact, so two approaches that share a tokenizer share its vocabulary
(``keras_vocabulary``), and two that also share ``max_tokens`` share the token-id
matrices (``keras_50_train_features``). Parameters live under
``text_features.<tokenizer>`` and ``text_features.<tokenizer>_<max_tokens>``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import encode_split, fit_vocabulary, tokenize_texts

SPLITS = ("train", "validation", "test")

# Tokenizer -> the max_tokens values some approach uses. A family that needs a new
# combination adds it here and a parameter block in parameters_text_features.yml.
FEATURE_SETS: dict[str, tuple[int, ...]] = {
    "keras": (50,),
    "basic_english": (25, 50),
    "word_regex": (25, 50),
}


def feature_set_name(tokenizer: str, max_tokens: int) -> str:
    """Name of one (tokenizer, max_tokens) pair, e.g. ``keras_50``."""
    return f"{tokenizer}_{max_tokens}"


def _vocabulary_template() -> Pipeline:
    tokenize = [
        Node(
            func=tokenize_texts,
            inputs={"split": f"ag_news_{split}", "tokenizer": "params:tokenizer"},
            outputs=f"{split}_tokens",
            name=f"tokenize_{split}_node",
        )
        for split in SPLITS
    ]
    fit = Node(
        func=fit_vocabulary,
        inputs={
            "train_tokens": "train_tokens",
            "validation_tokens": "validation_tokens",
            "test_tokens": "test_tokens",
            "tokenizer": "params:tokenizer",
            "options": "params:vocabulary",
        },
        outputs="vocabulary",
        name="fit_vocabulary_node",
    )
    return Pipeline([*tokenize, fit])


def _encoding_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                func=encode_split,
                inputs={
                    "split": f"ag_news_{split}",
                    "tokens": f"{split}_tokens",
                    "vocabulary": "vocabulary",
                    "max_tokens": "params:max_tokens",
                },
                outputs=f"{split}_features",
                name=f"encode_{split}_node",
            )
            for split in SPLITS
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Build the vocabulary and encoding pipelines for every configured feature set."""
    shared_splits = {f"ag_news_{split}" for split in SPLITS}
    pipelines = []
    for tokenizer, max_tokens_values in FEATURE_SETS.items():
        # Shared artifacts get flat names (keras_vocabulary, keras_train_tokens):
        # Kedro reserves dotted names for datasets private to a namespace.
        per_tokenizer = {
            name: f"{tokenizer}_{name}"
            for name in ("vocabulary", *(f"{split}_tokens" for split in SPLITS))
        }
        pipelines.append(
            Pipeline(
                _vocabulary_template(),
                namespace=f"text_features.{tokenizer}",
                inputs=shared_splits,
                outputs=per_tokenizer,
            )
        )
        for max_tokens in max_tokens_values:
            feature_set = feature_set_name(tokenizer, max_tokens)
            pipelines.append(
                Pipeline(
                    _encoding_template(),
                    namespace=f"text_features.{feature_set}",
                    inputs={**{s: s for s in shared_splits}, **per_tokenizer},
                    outputs={
                        f"{split}_features": f"{feature_set}_{split}_features"
                        for split in SPLITS
                    },
                )
            )
    return sum(pipelines, Pipeline([]))
