"""Ensemble: a weighted average of the trained approaches' class probabilities."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
