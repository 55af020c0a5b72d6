"""Ingestion: the AG News CSV release read strictly, split into train/validation/test."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
