"""Nodes of the ``ingestion`` pipeline: validated raw splits -> primary tables."""

from __future__ import annotations

import logging

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import CLASS_NAMES

logger = logging.getLogger(__name__)


class IngestionOptions(BaseModel):
    """The ``ingestion`` parameter block.

    Attributes:
        validation_fraction: Share of train held out, stratified by class.
        seed: Seeds the split.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    validation_fraction: float = Field(0.05, gt=0, lt=1)
    seed: int = 42


def _log_split(name: str, split: pd.DataFrame) -> None:
    counts = split["label"].value_counts().sort_index()
    per_class = ", ".join(f"{CLASS_NAMES[label]} {count}" for label, count in counts.items())
    logger.info("%s split: %d articles (%s)", name, len(split), per_class)


def split_train_validation(
    train: pd.DataFrame, options: IngestionOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carve a stratified, seeded validation split out of train."""
    # Imported here, as evaluation does: every kedro command imports the pipelines
    # (find_pipelines, kedro viz build), and only this node needs scikit-learn.
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    options = IngestionOptions.model_validate(options)
    train_part, validation_part = train_test_split(
        train,
        test_size=options.validation_fraction,
        stratify=train["label"],
        random_state=options.seed,
    )
    # Keep the file order so a split reads like the source and diffs stay small.
    train_part = train_part.sort_index().reset_index(drop=True)
    validation_part = validation_part.sort_index().reset_index(drop=True)
    _log_split("train", train_part)
    _log_split("validation", validation_part)
    return train_part, validation_part


def prepare_test_split(test: pd.DataFrame) -> pd.DataFrame:
    """Pass the test split through unchanged but for a fresh index; it only scores."""
    test = test.reset_index(drop=True)
    _log_split("test", test)
    return test
