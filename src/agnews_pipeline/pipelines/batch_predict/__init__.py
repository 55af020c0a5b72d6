"""Scores new articles dropped in the incoming folder with the chosen trained model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
