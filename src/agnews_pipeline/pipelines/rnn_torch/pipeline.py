"""Vanilla PyTorch RNNs: the training-family template once per ``rnn_torch`` block.

Training reads the GloVe matrix only to start the embedding
(``training.embedding_init: glove``).
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline

from agnews_pipeline.approaches import Approach
from agnews_pipeline.pipelines.training_family import create_family_pipeline

from .nodes import train_model

FAMILY = "rnn_torch"

# train_model's arguments -> the template datasets that provide them.
TRAIN_READS = {
    "train_features": "train_features",
    "validation_features": "validation_features",
    "vocabulary": "vocabulary",
    "glove_matrix": "glove_matrix",
}


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """The template once per approach, under ``rnn_torch.<approach>``."""
    return create_family_pipeline(FAMILY, train_model, TRAIN_READS, approaches)
