"""GloVe vectors + a vocabulary -> the embedding matrix and its coverage report.

One instance per (tokenizer, release) the approaches name, under ``glove.<name>``:
``glove.keras_6b_50d.embedding_matrix``, ``glove.keras_6b_50d.coverage``.
"""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
