"""Nodes of the ``glove`` pipeline: an embedding matrix aligned with a vocabulary."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agnews_pipeline.datasets.glove_dataset import GloVeVectors
from agnews_pipeline.pipelines.text_features.vocabulary import Vocabulary, count_tokens

logger = logging.getLogger(__name__)


def build_embedding_matrix(
    vocabulary: dict[str, Any],
    train_tokens: list[list[str]],
    vectors: GloVeVectors,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Look up every vocabulary token in GloVe and report how much is covered.

    Args:
        vocabulary: JSON form of a :class:`Vocabulary` (``Vocabulary.to_dict()``).
        train_tokens: Token lists of the train split; they supply the token counts
            the saved vocabulary lacks.
        vectors: GloVe vectors, looked up case-sensitively.

    Returns:
        ``(embedding_matrix, coverage)``: float32 ``(len(vocabulary), d)`` whose row
        ``i`` is the vector of token ``i``, zeros for row 0 (padding/unknown) and for
        tokens GloVe lacks; and a JSON-ready report. ``vocabulary_coverage`` is the
        share of tokens other than index 0 that were found; ``token_coverage`` the
        share of train token occurrences that get a GloVe row, so occurrences of
        tokens left out of the vocabulary count as not found.
    """
    vocab = Vocabulary.from_dict(vocabulary)
    # Row 0 is never looked up: whatever its token, the model must see zeros there.
    words = vocab.tokens[1:]
    rows, found = vectors.lookup(words)
    matrix = np.zeros((len(vocab), vectors.dimension), dtype=np.float32)
    matrix[1:] = rows
    found_words = {word for word, hit in zip(words, found, strict=True) if hit}
    counts = count_tokens(train_tokens)
    occurrences = sum(counts.values())
    found_occurrences = sum(
        count for token, count in counts.items() if token in found_words
    )
    coverage = {
        "glove": vectors.name,
        "dimension": vectors.dimension,
        "vocabulary_size": len(vocab),
        "words_found": len(found_words),
        "vocabulary_coverage": _share(len(found_words), len(words)),
        "token_coverage": _share(found_occurrences, occurrences),
    }
    logger.info(
        "%s covers %.1f%% of the %d-token %s vocabulary and %.1f%% of the train "
        "split's %d token occurrences",
        vectors.name,
        100 * coverage["vocabulary_coverage"],
        len(vocab),
        vocab.tokenizer,
        100 * coverage["token_coverage"],
        occurrences,
    )
    return matrix, coverage


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
