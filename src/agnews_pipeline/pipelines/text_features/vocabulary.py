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

# How each tutorial broke frequency ties: Keras keeps first-seen order; torchtext's
# build_vocab_from_iterator and GluonNLP's Vocab sort tied tokens alphabetically. Matching
# them keeps our ids identical to a gluonnlp.Vocab built from the same counts.
ALPHABETICAL_TIES_BY_TOKENIZER: dict[str, bool] = {
    "keras": False,
    "basic_english": True,
    "word_regex": True,
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
        counts: ``counts[i]`` is how often token ``i`` occurred in the fitted splits
            (0 for the reserved index 0).
    """

    tokens: tuple[str, ...]
    unknown_token: str | None
    tokenizer: str
    counts: tuple[int, ...] = ()

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
            "counts": list(self.counts),
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
            counts=tuple(data.get("counts", ())),
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
    """Order tokens by frequency after the reserved index 0, ties as the tutorial did."""
    unknown = UNKNOWN_TOKEN_BY_TOKENIZER[tokenizer]
    reserved = unknown if unknown is not None else PAD_TOKEN
    items = list(counts.items())  # a Counter iterates in first-seen order
    if ALPHABETICAL_TIES_BY_TOKENIZER[tokenizer]:
        items.sort(key=lambda item: item[0])
    # sort() is stable: equal counts keep the order established above.
    items.sort(key=lambda item: item[1], reverse=True)
    ranked = [
        (token, count)
        for token, count in items
        if count >= min_frequency and token != reserved
    ]
    if max_size is not None:
        ranked = ranked[: max_size - 1]
    return Vocabulary(
        tokens=(reserved, *(token for token, _ in ranked)),
        unknown_token=unknown,
        tokenizer=tokenizer,
        counts=(0, *(count for _, count in ranked)),
    )


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
