"""Vanilla PyTorch RNNs on trainable embeddings, one template per approach."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
