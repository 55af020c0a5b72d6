"""A frequency-ordered vocabulary and the padded token-id matrices built from it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

PAD_TOKEN = "<pad>"
UNKNOWN_TOKEN = "<unk>"

# How each tutorial reserved index 0: Keras keeps it for padding and drops unknown
# words; torchtext and GluonNLP put "<unk>" there and pad with it too.
UNKNOWN_TOKEN_BY_TOKENIZER: dict[str, str | None] = {
    "keras": None,
    "basic_english": UNKNOWN_TOKEN,
    "word_regex": UNKNOWN_TOKEN,
}


@dataclass(frozen=True)
class Vocabulary:
    """Tokens by index; index 0 is the padding value.

    Attributes:
        tokens: ``tokens[i]`` is the token with id ``i``; ``tokens[0]`` is ``"<pad>"``
            or, where the style has one, the unknown token.
        unknown_token: Token that out-of-vocabulary words map to, or ``None`` when
            they are dropped (the Keras behaviour).
        tokenizer: Name of the tokenizer the vocabulary was fitted with.
    """

    tokens: tuple[str, ...]
    unknown_token: str | None
    tokenizer: str

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def index(self) -> dict[str, int]:
        """Map from token to id."""
        return {token: i for i, token in enumerate(self.tokens)}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form."""
        return {
            "tokenizer": self.tokenizer,
            "unknown_token": self.unknown_token,
            "padding_index": 0,
            "size": len(self.tokens),
            "tokens": list(self.tokens),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Rebuild a vocabulary saved with :meth:`to_dict`."""
        missing = {"tokens", "unknown_token", "tokenizer"} - set(data)
        if missing:
            raise ValueError(f"Vocabulary is missing the keys {sorted(missing)}")
        return cls(
            tokens=tuple(data["tokens"]),
            unknown_token=data["unknown_token"],
            tokenizer=data["tokenizer"],
        )


def count_tokens(token_lists: Iterable[Sequence[str]]) -> Counter[str]:
    """Count token occurrences; the Counter keeps first-seen order for ties."""
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return counts


def build_vocabulary(
    counts: Counter[str],
    tokenizer: str,
    min_frequency: int = 1,
    max_size: int | None = None,
) -> Vocabulary:
    """Order tokens by frequency, ties by first occurrence, after the reserved index 0."""
    unknown = UNKNOWN_TOKEN_BY_TOKENIZER[tokenizer]
    reserved = unknown if unknown is not None else PAD_TOKEN
    # sorted() is stable, so equal counts keep the Counter's first-seen order.
    ranked = [
        token
        for token, count in sorted(counts.items(), key=lambda item: -item[1])
        if count >= min_frequency and token != reserved
    ]
    if max_size is not None:
        ranked = ranked[: max_size - 1]
    return Vocabulary(tokens=(reserved, *ranked), unknown_token=unknown, tokenizer=tokenizer)


def encode(
    token_lists: Sequence[Sequence[str]],
    vocabulary: Vocabulary,
    max_tokens: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Map tokens to ids, cut and pad at the end to ``max_tokens``.

    Returns:
        ``(token_ids, lengths)``: int32 ``(N, max_tokens)`` and int32 ``(N,)``, the
        number of real (non-padding) positions per row.
    """
    index = vocabulary.index
    unknown_id = None if vocabulary.unknown_token is None else index[vocabulary.unknown_token]
    token_ids = np.zeros((len(token_lists), max_tokens), dtype=np.int32)
    lengths = np.zeros(len(token_lists), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        if unknown_id is None:
            ids = [index[token] for token in tokens if token in index]
        else:
            ids = [index.get(token, unknown_id) for token in tokens]
        ids = ids[:max_tokens]
        token_ids[row, : len(ids)] = ids
        lengths[row] = len(ids)
    return token_ids, lengths
