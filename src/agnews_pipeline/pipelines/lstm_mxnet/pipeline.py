"""MXNet Gluon LSTMs: the training-family template once per ``lstm_mxnet`` block."""

from agnews_pipeline.pipelines.training_family import (
    CHOOSES_VALIDATION_SPLIT,
    TRAINABLE_EMBEDDING_READS,
    family_pipeline,
)

from .nodes import train_model

create_pipeline = family_pipeline(
    "lstm_mxnet", train_model, {**TRAINABLE_EMBEDDING_READS, **CHOOSES_VALIDATION_SPLIT}
)
