"""Tokens and a vocabulary per tokenizer, padded token ids per (tokenizer, max_tokens).

The tokenizers and lengths are the ones the configured approaches name (their
``tokenizer`` and ``max_tokens`` keys). Names key every artifact, so two approaches
that share a tokenizer share its vocabulary (``keras_vocabulary``), and two that also
share ``max_tokens`` share the token-id matrices (``keras_50_train_features``). A
vocabulary's options live under ``text_features.<tokenizer>``; a feature set's length
is read from the first approach that uses it (``params:conv1d_flax.conv1d_single.
max_tokens``), so it cannot disagree with the approaches that train on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import Approach, every_approach

from .nodes import encode_split, fit_vocabulary, tokenize_texts

SPLITS = ("train", "validation", "test")


def feature_sets(approaches: Iterable[Approach]) -> dict[str, dict[str, Approach]]:
    """Tokenizer -> feature set -> the first approach that reads it, in YAML order."""
    found: dict[str, dict[str, Approach]] = {}
    for approach in approaches:
        found.setdefault(approach.tokenizer, {}).setdefault(
            approach.feature_set, approach
        )
    return found


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


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """Build the vocabulary and encoding pipelines for every feature set approaches read."""
    if approaches is None:
        approaches = every_approach()
    shared_splits = {f"ag_news_{split}" for split in SPLITS}
    pipelines = []
    for tokenizer, sets in feature_sets(approaches).items():
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
        for feature_set, first_reader in sets.items():
            pipelines.append(
                Pipeline(
                    _encoding_template(),
                    namespace=f"text_features.{feature_set}",
                    inputs={**{s: s for s in shared_splits}, **per_tokenizer},
                    outputs={
                        f"{split}_features": f"{feature_set}_{split}_features"
                        for split in SPLITS
                    },
                    parameters={
                        "params:max_tokens": f"params:{first_reader.namespace}.max_tokens"
                    },
                )
            )
    return sum(pipelines, Pipeline([]))
