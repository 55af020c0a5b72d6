"""Trainable embeddings + MXNet Gluon LSTMs, one template per approach (section 3)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
