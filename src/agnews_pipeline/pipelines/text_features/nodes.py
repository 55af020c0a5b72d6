"""Nodes of the ``text_features`` pipeline: tokens, vocabulary, padded token ids."""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .tokenizers import tokenize_all
from .vocabulary import Vocabulary, build_vocabulary, count_tokens, encode

logger = logging.getLogger(__name__)

Split = Literal["train", "validation", "test"]


class VocabularyOptions(BaseModel):
    """How a vocabulary is fitted.

    Attributes:
        fit_on: Splits whose tokens are counted; ``[train, test]`` reproduces the
            tutorials (which leaks the test split into the vocabulary).
        min_frequency: Tokens seen fewer times are left out.
        max_size: Largest vocabulary, reserved index included; ``None`` keeps all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fit_on: list[Split] = Field(default_factory=lambda: ["train"], min_length=1)
    min_frequency: int = Field(1, ge=1)
    max_size: int | None = Field(None, ge=2)


def tokenize_texts(split: pd.DataFrame, tokenizer: str) -> list[list[str]]:
    """Tokenize the ``text`` column of one split."""
    return tokenize_all(split["text"].tolist(), tokenizer)


def fit_vocabulary(
    train_tokens: list[list[str]],
    validation_tokens: list[list[str]],
    test_tokens: list[list[str]],
    tokenizer: str,
    options: VocabularyOptions,
) -> dict[str, Any]:
    """Fit a vocabulary on the configured splits and return its JSON form."""
    options = VocabularyOptions.model_validate(options)
    by_split = {"train": train_tokens, "validation": validation_tokens, "test": test_tokens}
    counts = count_tokens(
        tokens for split in options.fit_on for tokens in by_split[split]
    )
    vocabulary = build_vocabulary(
        counts, tokenizer, options.min_frequency, options.max_size
    )
    logger.info(
        "Vocabulary for tokenizer %r fitted on %s: %d tokens",
        tokenizer,
        "+".join(options.fit_on),
        len(vocabulary),
    )
    return vocabulary.to_dict()


def encode_split(
    split: pd.DataFrame,
    tokens: list[list[str]],
    vocabulary: dict[str, Any],
    max_tokens: int,
) -> dict[str, np.ndarray]:
    """Turn one split into int32 token ids, true lengths and labels."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    token_ids, lengths = encode(tokens, Vocabulary.from_dict(vocabulary), max_tokens)
    return {
        "token_ids": token_ids,
        "lengths": lengths,
        "labels": split["label"].to_numpy(dtype=np.int32),
    }
