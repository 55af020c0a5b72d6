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
    """Carve a stratified, seeded validation split out of train, copies of an article together."""
    # Imported here, as evaluation does: every kedro command imports the pipelines
    # (find_pipelines, kedro viz build), and only this node needs scikit-learn.
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    options = IngestionOptions.model_validate(options)
    train = train.reset_index(drop=True)
    # An article that occurs twice must not sit on both sides: validation would score
    # rows the model trained on, and early stopping would wait for a peak that never
    # comes. The split draws distinct articles (exactly the old draw when all are
    # distinct); every copy follows its first occurrence.
    article = train.groupby(
        [column for column in train.columns if column != "label"], sort=False, dropna=False
    ).ngroup()
    first_copies = train[~article.duplicated()]
    _, validation_firsts = train_test_split(
        first_copies,
        test_size=options.validation_fraction,
        stratify=first_copies["label"],
        random_state=options.seed,
    )
    in_validation = article.isin(article[validation_firsts.index])
    # Keep the file order so a split reads like the source and diffs stay small.
    train_part = train[~in_validation].reset_index(drop=True)
    validation_part = train[in_validation].reset_index(drop=True)
    copies = len(train) - len(first_copies)
    if copies:
        logger.info("train holds %d repeated copies of articles, kept with their first", copies)
    _log_split("train", train_part)
    _log_split("validation", validation_part)
    return train_part, validation_part


def prepare_test_split(test: pd.DataFrame) -> pd.DataFrame:
    """Pass the test split through unchanged but for a fresh index; it only scores."""
    test = test.reset_index(drop=True)
    _log_split("test", test)
    return test
