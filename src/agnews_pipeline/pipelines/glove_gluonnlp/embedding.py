"""The GloVe matrix of a vocabulary, built through GluonNLP's token-embedding API.

As in the tutorial: a ``gluonnlp.embedding.TokenEmbedding`` holds the GloVe vectors,
``vocab.set_embedding(embedding)`` attaches it to the GluonNLP ``Vocab``, and
``vocab.embedding.idx_to_vec`` is the ``(V, d)`` matrix the network's embedding
layer receives. Where the tutorial let GluonNLP download and parse a whole GloVe
release into memory (``embedding.create("glove", source=...)``), the vectors here
come from a catalog ``GloVeDataset`` that streams the file and keeps only the rows
of the vocabulary's words; the ``TokenEmbedding`` is built from those rows with its
public constructor (``idx_to_token`` / ``idx_to_vec``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from agnews_pipeline.datasets.glove_dataset import GloVeVectors
from agnews_pipeline.gluon_vocab import gluonnlp_vocab
from agnews_pipeline.mxnet_compat import import_gluonnlp, import_mxnet

logger = logging.getLogger(__name__)


def token_embedding(
    vectors: GloVeVectors, words: Sequence[str], unknown_token: str
) -> Any:
    """Look ``words`` up and wrap the ones found in a GluonNLP ``TokenEmbedding``.

    Args:
        vectors: GloVe vectors, looked up case-sensitively.
        words: The words the embedding should know (the vocabulary's).
        unknown_token: GluonNLP's unknown token; it gets index 0 and a zero vector,
            which every word GloVe lacks then maps to.

    Returns:
        A ``gluonnlp.embedding.TokenEmbedding`` of ``unknown_token`` plus the found
        words, in the order of ``words``.
    """
    nlp, mx = import_gluonnlp(), import_mxnet()
    rows, found = vectors.lookup(list(words))
    known = [word for word, hit in zip(words, found, strict=True) if hit]
    idx_to_vec = np.concatenate(
        [np.zeros((1, vectors.dimension), dtype=np.float32), rows[found]]
    )
    return nlp.embedding.TokenEmbedding(
        unknown_token=unknown_token,
        # The unknown vector is given (row 0), so GluonNLP must not make one up.
        init_unknown_vec=None,
        idx_to_token=[unknown_token, *known],
        idx_to_vec=mx.nd.array(idx_to_vec, dtype="float32"),
    )


def glove_embedding_matrix(
    vocabulary: dict[str, Any], vectors: GloVeVectors
) -> tuple[np.ndarray, dict[str, Any]]:
    """Attach GloVe to the GluonNLP ``Vocab`` and read back its ``(V, d)`` matrix.

    Args:
        vocabulary: ``Vocabulary.to_dict()`` of a vocabulary whose index 0 is the
            unknown token (the ``word_regex`` one): the GluonNLP ``Vocab`` built
            from it has identical indices.
        vectors: The GloVe vectors to use.

    Returns:
        ``(matrix, coverage)``: float32 ``(V, d)``, row ``i`` the vector of token
        ``i``, zeros for row 0 (unknown and padding) and for words GloVe lacks; and
        a JSON-ready report: which GloVe, its dimension, the vocabulary size, the
        words found, ``vocabulary_coverage`` (share of tokens other than index 0
        found) and ``token_coverage`` (share of the fitted splits' token
        occurrences that get a vector, from the vocabulary's counts).

    Raises:
        ValueError: If the vocabulary has no unknown token at index 0 or GluonNLP
            would index it differently (see ``gluonnlp_vocab``).
    """
    # Checks the unknown token at index 0 and that its ids equal the shared ones.
    vocab = gluonnlp_vocab(vocabulary)
    tokens = list(vocab.idx_to_token)
    words = tokens[1:]  # row 0 never gets a GloVe vector: it is the padding value
    embedding = token_embedding(vectors, words, vocab.unknown_token)
    vocab.set_embedding(embedding)
    matrix = vocab.embedding.idx_to_vec.asnumpy().astype(np.float32, copy=False)

    found = np.array([word in embedding for word in words], dtype=bool)
    counts = np.asarray(vocabulary["counts"], dtype=np.int64)
    occurrences = int(counts[1:].sum())
    coverage = {
        "glove": vectors.name,
        "dimension": int(vectors.dimension),
        "vocabulary_size": len(tokens),
        "words_found": int(found.sum()),
        "vocabulary_coverage": _share(int(found.sum()), len(words)),
        "token_coverage": (
            _share(int(counts[1:][found].sum()), occurrences) if occurrences else None
        ),
    }
    logger.info(
        "%s (%d-d) covers %.1f%% of the %d-token %s vocabulary and %s of its token "
        "occurrences",
        vectors.name,
        vectors.dimension,
        100 * coverage["vocabulary_coverage"],
        len(tokens),
        vocabulary.get("tokenizer"),
        "n/a"
        if coverage["token_coverage"] is None
        else f"{coverage['token_coverage']:.1%}",
    )
    return matrix, coverage


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
