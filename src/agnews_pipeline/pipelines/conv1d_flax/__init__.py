"""Trainable embeddings + Flax Conv1D, one template per approach (single, double)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
