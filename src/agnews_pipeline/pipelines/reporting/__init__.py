"""Reporting: baselines and every approach side by side (table, Markdown, charts)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
