"""Haiku classifiers on a frozen GloVe matrix: the template once per ``glove_haiku`` block."""

from agnews_pipeline.pipelines.training_family import (
    FROZEN_GLOVE_READS,
    family_pipeline,
)

from .nodes import train_model

create_pipeline = family_pipeline("glove_haiku", train_model, FROZEN_GLOVE_READS)
