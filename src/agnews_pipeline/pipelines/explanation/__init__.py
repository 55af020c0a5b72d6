"""Explanation template: LIME word weights for one test article, for any backend.

Every model family instantiates :func:`create_template` inside its own namespace;
the registered ``explanation`` pipeline itself is empty.
"""

from .pipeline import create_pipeline, create_template

__all__ = ["create_pipeline", "create_template"]
