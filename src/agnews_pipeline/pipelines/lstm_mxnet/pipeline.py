"""MXNet Gluon LSTMs: the training-family template once per ``lstm_mxnet`` block.

Training reads the GloVe matrix only to start the embedding
(``training.embedding_init: glove``); the ``validation`` block picks the split early
stopping reads.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline

from agnews_pipeline.approaches import Approach
from agnews_pipeline.pipelines.training_family import create_family_pipeline

from .nodes import train_model

FAMILY = "lstm_mxnet"

# train_model's arguments -> the template datasets that provide them.
TRAIN_READS = {
    "train_features": "train_features",
    "validation_features": "validation_features",
    "test_features": "test_features",
    "vocabulary": "vocabulary",
    "glove_matrix": "glove_matrix",
    "validation_options": "params:validation",
}


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """The template once per approach, under ``lstm_mxnet.<approach>``."""
    return create_family_pipeline(FAMILY, train_model, TRAIN_READS, approaches)
