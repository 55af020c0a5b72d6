"""One embedding matrix per (tokenizer, GloVe vectors) pair, namespaced ``glove.<name>``.

``glove.keras_6b_50d`` reads ``keras_vocabulary``, ``keras_train_tokens`` and
``glove_6b_50d_vectors`` and writes ``keras_6b_50d_glove_matrix`` and
``keras_6b_50d_glove_coverage``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import build_embedding_matrix

# Namespace suffix -> (tokenizer whose vocabulary is embedded, GloVe vectors dataset).
# An approach needing other vectors adds an entry here and its dataset to the catalog.
# keras: glove_haiku's frozen embedding and conv1d_flax's starting point; basic_english
# and word_regex: where rnn_torch and lstm_mxnet start their trainable embeddings
# (training.embedding_init: glove).
EMBEDDINGS: dict[str, tuple[str, str]] = {
    "keras_6b_50d": ("keras", "glove_6b_50d_vectors"),
    "basic_english_6b_50d": ("basic_english", "glove_6b_50d_vectors"),
    "word_regex_6b_50d": ("word_regex", "glove_6b_50d_vectors"),
}


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


def create_pipeline(**kwargs) -> Pipeline:
    """Build the embedding matrix pipeline for every entry of ``EMBEDDINGS``."""
    return sum(
        (
            Pipeline(
                _embedding_template(),
                namespace=f"glove.{name}",
                inputs={
                    "vocabulary": f"{tokenizer}_vocabulary",
                    "train_tokens": f"{tokenizer}_train_tokens",
                    "vectors": vectors_dataset,
                },
                outputs={
                    "embedding_matrix": f"{name}_glove_matrix",
                    "coverage": f"{name}_glove_coverage",
                },
            )
            for name, (tokenizer, vectors_dataset) in EMBEDDINGS.items()
        ),
        Pipeline([]),
    )
