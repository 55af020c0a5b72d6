"""Frozen GloVe via GluonNLP + Gluon dense layers, one template per approach."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
