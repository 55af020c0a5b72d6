"""Evaluation template: test-split predictions, metrics and a confusion-matrix picture.

Every model family instantiates :func:`create_template` inside its own namespace;
the registered ``evaluation`` pipeline itself is empty.
"""

from .pipeline import create_pipeline, create_template

__all__ = ["create_pipeline", "create_template"]
