"""GloVe vectors + a vocabulary -> the embedding matrix and its coverage report.

One instance per entry of ``EMBEDDINGS``, under the namespace ``glove.<name>``:
``glove.keras_6b_50d.embedding_matrix``, ``glove.keras_6b_50d.coverage``.
"""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
