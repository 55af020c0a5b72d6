"""GloVe matrices built with GluonNLP, then one train-evaluate-explain template per approach.

Two kinds of namespaces under ``glove_gluonnlp``:

- one embedding stage per GloVe release (``glove_gluonnlp.glove_840b``), shared by
  the approaches that use it, so the 5.6 GB 840B file is streamed once, not three
  times. It writes ``word_regex_840b_300d_glove_matrix`` and ``..._glove_coverage``
  (the ``04_feature`` factories persist them) and reads its options from
  ``params:glove_gluonnlp.glove_840b.source``;
- one template per approach (``glove_gluonnlp.mean_840b``), whose datasets become
  ``glove_gluonnlp.mean_840b.trained_model`` and so on.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.pipelines import evaluation, explanation

from .nodes import build_glove_embedding, train_model

# Embedding stage -> (its GloVe vectors dataset, prefix of the matrix it writes).
EMBEDDINGS: dict[str, tuple[str, str]] = {
    "glove_840b": ("glove_840b_300d_vectors", "word_regex_840b_300d"),
    "glove_42b": ("glove_42b_300d_vectors", "word_regex_42b_300d"),
}

# Approach -> the embedding stage whose matrix it trains on.
APPROACHES: dict[str, str] = {
    "flatten_840b": "glove_840b",
    "mean_840b": "glove_840b",
    "sum_840b": "glove_840b",
    "flatten_42b": "glove_42b",
}

# Vectors every stage falls back to when its release is absent.
FALLBACK_VECTORS = "glove_6b_50d_vectors"

# Template inputs that every approach shares, and the datasets that provide them
# (the text_features outputs for the word_regex tokenizer, the ingestion's test split).
SHARED_INPUTS = {
    "train_features": "word_regex_50_train_features",
    "validation_features": "word_regex_50_validation_features",
    "test_features": "word_regex_50_test_features",
    "vocabulary": "word_regex_vocabulary",
    "ag_news_test": "ag_news_test",
}
SHARED_PARAMETERS = {
    "params:max_tokens": "params:text_features.word_regex_50.max_tokens"
}


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


def create_template() -> Pipeline:
    """Build the un-namespaced train, evaluate and explain template of one approach."""
    train = Pipeline(
        [
            Node(
                func=train_model,
                inputs={
                    "train_features": "train_features",
                    "validation_features": "validation_features",
                    "test_features": "test_features",
                    "embedding_matrix": "embedding_matrix",
                    "embedding_coverage": "embedding_coverage",
                    "model_options": "params:model",
                    "training_options": "params:training",
                    "validation_options": "params:validation",
                },
                outputs=["trained_model", "training_history"],
                name="train_model_node",
            )
        ]
    )
    return train + evaluation.create_template() + explanation.create_template()


def create_pipeline(**kwargs) -> Pipeline:
    """Instantiate the embedding stages and, per approach, the template."""
    embedding_template = create_embedding_template()
    stages = [
        Pipeline(
            embedding_template,
            namespace=f"glove_gluonnlp.{stage}",
            inputs={
                "vocabulary": SHARED_INPUTS["vocabulary"],
                "glove_vectors": vectors,
                "fallback_vectors": FALLBACK_VECTORS,
            },
            outputs={
                "embedding_matrix": f"{prefix}_glove_matrix",
                "embedding_coverage": f"{prefix}_glove_coverage",
            },
        )
        for stage, (vectors, prefix) in EMBEDDINGS.items()
    ]
    template = create_template()
    approaches = [
        Pipeline(
            template,
            namespace=f"glove_gluonnlp.{approach}",
            inputs={
                **SHARED_INPUTS,
                "embedding_matrix": f"{EMBEDDINGS[stage][1]}_glove_matrix",
                "embedding_coverage": f"{EMBEDDINGS[stage][1]}_glove_coverage",
            },
            parameters=SHARED_PARAMETERS,
        )
        for approach, stage in APPROACHES.items()
    ]
    return sum([*stages, *approaches], Pipeline([]))
