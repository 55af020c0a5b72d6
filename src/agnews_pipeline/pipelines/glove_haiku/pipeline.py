"""Haiku classifiers on a frozen GloVe matrix: the template once per ``glove_haiku`` block."""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline

from agnews_pipeline.approaches import Approach
from agnews_pipeline.pipelines.training_family import create_family_pipeline

from .nodes import train_model

FAMILY = "glove_haiku"

# train_model's arguments -> the template datasets that provide them.
TRAIN_READS = {
    "train_features": "train_features",
    "validation_features": "validation_features",
    "embedding_matrix": "glove_matrix",
    "embedding_coverage": "glove_coverage",
}


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """The template once per approach, under ``glove_haiku.<approach>``."""
    return create_family_pipeline(FAMILY, train_model, TRAIN_READS, approaches)
