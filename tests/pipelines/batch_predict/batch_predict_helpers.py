"""Tiny real models, a vocabulary and a results table for the batch_predict tests.

Imported by name: pytest puts this folder on sys.path (the tests folders are not
packages).
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from agnews_pipeline.pipelines.glove_haiku.models import (
    GloveHaikuClassifier,
    GloveHaikuConfig,
    build_network,
)
from agnews_pipeline.pipelines.text_features.vocabulary import Vocabulary

OLD, NEW = "2025-01-01T00.00.00.000Z", "2025-06-30T12.00.00.000Z"
HAIKU_FAMILIES = {
    "glove_haiku": {
        "type": "agnews_pipeline.datasets.HaikuModelDataset",
        "file_name": "model.npz",
    }
}
VOCABULARY = Vocabulary(
    tokens=("<pad>", "stocks", "rally", "team", "wins", "cup", "oil"),
    unknown_token=None,
    tokenizer="keras",
).to_dict()


def haiku_model(seed: int) -> GloveHaikuClassifier:
    """A 7-word, 3-dimension mean-pooling model: real, and instant to build."""
    glove = np.random.default_rng(seed).normal(size=(7, 3)).astype(np.float32)
    glove[0] = 0.0
    config = GloveHaikuConfig(pooling="mean", hidden_units=5)
    params = build_network(config, glove).init(
        jax.random.PRNGKey(seed), np.zeros((1, 4), np.int32)
    )
    return GloveHaikuClassifier(config=config, params=jax.tree.map(np.asarray, params))


# Validation accuracies: in the test accuracies' order unless a test says otherwise.
VALIDATION = {
    "glove_haiku.mean": 0.82,
    "glove_haiku.sum": 0.78,
    "baselines.tfidf_logreg": 0.92,
}


def results_table(validation: dict | None = None, **overrides: dict) -> pd.DataFrame:
    """The reporting pipeline's columns; ``overrides`` replace rows by name.

    ``validation`` replaces validation accuracies by name.
    """
    validation = {**VALIDATION, **(validation or {})}
    rows = {
        "glove_haiku.mean": ("trained", "haiku", "keras", 50, 0.81, OLD),
        "glove_haiku.sum": ("trained", "haiku", "keras", 50, 0.79, OLD),
        "glove_haiku.flatten": ("missing", "haiku", "keras", 50, None, None),
        "rnn_torch.rnn_25": ("missing", "torch", "basic_english", 25, None, None),
        "baselines.tfidf_logreg": ("trained", "scikit-learn", None, None, 0.91, None),
    }
    rows.update(overrides)
    return pd.DataFrame(
        [
            {
                "family": name.split(".")[0],
                "approach": name.split(".")[1],
                "status": status,
                "framework": framework,
                "tokenizer": tokenizer,
                "max_tokens": max_tokens,
                "validation_accuracy": validation.get(name) if status == "trained" else None,
                "test_accuracy": accuracy,
                "model_version": version,
            }
            for name, (status, framework, tokenizer, max_tokens, accuracy, version) in (
                rows.items()
            )
        ]
    )
