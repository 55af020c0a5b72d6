"""Flax Conv1D classifiers: the training-family template once per ``conv1d_flax`` block."""

from agnews_pipeline.pipelines.training_family import (
    TRAINABLE_EMBEDDING_READS,
    family_pipeline,
)

from .nodes import train_model

create_pipeline = family_pipeline("conv1d_flax", train_model, TRAINABLE_EMBEDDING_READS)
