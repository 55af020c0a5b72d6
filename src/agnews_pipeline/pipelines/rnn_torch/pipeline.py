"""Vanilla PyTorch RNNs: the training-family template once per ``rnn_torch`` block."""

from agnews_pipeline.pipelines.training_family import (
    TRAINABLE_EMBEDDING_READS,
    family_pipeline,
)

from .nodes import train_model

create_pipeline = family_pipeline("rnn_torch", train_model, TRAINABLE_EMBEDDING_READS)
