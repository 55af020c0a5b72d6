"""One embedding matrix per (tokenizer, GloVe release) the approaches name.

``glove.keras_6b_50d`` reads ``keras_vocabulary``, ``keras_train_tokens`` and
``glove_6b_50d_vectors`` and writes ``keras_6b_50d_glove_matrix`` and
``keras_6b_50d_glove_coverage``. The pairs come from the approaches' ``tokenizer``
and ``glove`` keys: glove_haiku's frozen embedding, and where conv1d_flax, rnn_torch
and lstm_mxnet start their trainable embeddings (``training.embedding_init:
glove``). glove_gluonnlp's matrices are built by its own GluonNLP stage; a pair it
builds is not built twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import GLUONNLP_GLOVE_FAMILY, Approach, every_approach

from .nodes import build_embedding_matrix


def _embedding_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                func=build_embedding_matrix,
                inputs={
                    "vocabulary": "vocabulary",
                    "train_tokens": "train_tokens",
                    "vectors": "vectors",
                },
                outputs=["embedding_matrix", "coverage"],
                name="build_embedding_matrix_node",
            )
        ]
    )


def embeddings(approaches: Iterable[Approach]) -> dict[str, tuple[str, str]]:
    """Matrix name -> (tokenizer, release) for the matrices this pipeline builds."""
    approaches = list(approaches)
    built_by_gluonnlp = {
        a.embedding for a in approaches if a.family == GLUONNLP_GLOVE_FAMILY
    }
    return {
        a.embedding: (a.tokenizer, a.glove)
        for a in approaches
        if a.embedding not in built_by_gluonnlp
    }


def create_pipeline(approaches: Iterable[Approach] | None = None, **kwargs) -> Pipeline:
    """Build the embedding matrix pipeline for every matrix the approaches read."""
    if approaches is None:
        approaches = every_approach()
    return sum(
        (
            Pipeline(
                _embedding_template(),
                namespace=f"glove.{name}",
                inputs={
                    "vocabulary": f"{tokenizer}_vocabulary",
                    "train_tokens": f"{tokenizer}_train_tokens",
                    "vectors": f"glove_{release}_vectors",
                },
                outputs={
                    "embedding_matrix": f"{name}_glove_matrix",
                    "coverage": f"{name}_glove_coverage",
                },
            )
            for name, (tokenizer, release) in embeddings(approaches).items()
        ),
        Pipeline([]),
    )
