"""GloVe matrices built with GluonNLP, then the training-family template per approach.

Two kinds of namespaces under ``glove_gluonnlp``:

- one embedding stage per (tokenizer, GloVe release) its approaches name
  (``glove_gluonnlp.word_regex_840b_300d``), shared by those approaches, so the
  5.6 GB 840B file is streamed once, not three times. It writes
  ``word_regex_840b_300d_glove_matrix`` and ``..._glove_coverage`` and reads its
  options from ``params:glove_releases.840b_300d``;
- one template per approach (``glove_gluonnlp.mean_840b``), whose datasets become
  ``glove_gluonnlp.mean_840b.trained_model`` and so on.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import Approach, configured_approaches
from agnews_pipeline.pipelines.training_family import (
    CHOOSES_VALIDATION_SPLIT,
    FROZEN_GLOVE_READS,
    create_family_pipeline,
)

from .nodes import build_glove_embedding, train_model

FAMILY = "glove_gluonnlp"

# Vectors every stage falls back to when its release is absent.
FALLBACK_VECTORS = "glove_6b_50d_vectors"

TRAIN_READS = {**FROZEN_GLOVE_READS, **CHOOSES_VALIDATION_SPLIT}


def create_embedding_template() -> Pipeline:
    """Build the un-namespaced GloVe-matrix template of one embedding stage."""
    return Pipeline(
        [
            Node(
                func=build_glove_embedding,
                inputs={
                    "vocabulary": "vocabulary",
                    "glove_vectors": "glove_vectors",
                    "fallback_vectors": "fallback_vectors",
                    "source": "params:source",
                },
                outputs=["embedding_matrix", "embedding_coverage"],
                name="build_glove_embedding_node",
            )
        ]
    )


def embedding_stages(approaches: Iterable[Approach]) -> Pipeline:
    """One GluonNLP embedding stage per (tokenizer, release) the approaches name."""
    template = create_embedding_template()
    needed = {(a.tokenizer, a.glove): a.embedding for a in approaches}
    return sum(
        (
            Pipeline(
                template,
                namespace=f"{FAMILY}.{embedding}",
                inputs={
                    "vocabulary": f"{tokenizer}_vocabulary",
                    "glove_vectors": f"glove_{release}_vectors",
                    "fallback_vectors": FALLBACK_VECTORS,
                },
                outputs={
                    "embedding_matrix": f"{embedding}_glove_matrix",
                    "embedding_coverage": f"{embedding}_glove_coverage",
                },
                parameters={"params:source": f"params:glove_releases.{release}"},
            )
            for (tokenizer, release), embedding in needed.items()
        ),
        Pipeline([]),
    )


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """The embedding stages, then the template once per approach."""
    if approaches is None:
        approaches = configured_approaches()[FAMILY].values()
    approaches = list(approaches)
    return embedding_stages(approaches) + create_family_pipeline(
        FAMILY, train_model, TRAIN_READS, approaches
    )
