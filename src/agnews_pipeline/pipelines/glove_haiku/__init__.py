"""Frozen GloVe + Haiku dense layers, one template per pooling (flatten, mean, sum)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
