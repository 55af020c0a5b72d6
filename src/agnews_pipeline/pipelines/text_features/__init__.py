"""Shared text features: tokenizers, vocabularies and padded token-id matrices."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
