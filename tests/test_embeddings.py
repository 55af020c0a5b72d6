"""GloVe-initialised trainable embeddings: exact rows, widths and seeds."""

from __future__ import annotations

import numpy as np
import pytest

from agnews_pipeline.embeddings import glove_initial_embedding


@pytest.fixture
def glove_matrix() -> np.ndarray:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(12, 6)).astype(np.float32)
    matrix[0] = 0.0  # padding / unknown
    matrix[5] = 0.0  # a word GloVe lacks
    return matrix


def test_same_width_keeps_every_covered_vector(glove_matrix):
    initial = glove_initial_embedding(glove_matrix, 6, seed=1)
    covered = [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    np.testing.assert_array_equal(initial[covered], glove_matrix[covered])
    np.testing.assert_array_equal(initial[0], np.zeros(6, dtype=np.float32))
    assert np.any(initial[5] != 0.0)  # the missing word gets a random start
    assert initial.dtype == np.float32 and initial.shape == (12, 6)


def test_narrower_embedding_is_the_principal_components(glove_matrix):
    initial = glove_initial_embedding(glove_matrix, 3, seed=1)
    covered = np.array([1, 2, 3, 4, 6, 7, 8, 9, 10, 11])
    centred = glove_matrix[covered].astype(np.float64)
    centred -= centred.mean(axis=0)
    _, singular_values, _ = np.linalg.svd(centred, full_matrices=False)
    # The projected rows keep exactly the variance of the three leading components.
    np.testing.assert_allclose(
        np.linalg.svd(initial[covered].astype(np.float64), compute_uv=False),
        singular_values[:3],
        rtol=1e-5,
    )
    assert initial.shape == (12, 3)


def test_wider_embedding_keeps_distances_between_words(glove_matrix):
    initial = glove_initial_embedding(glove_matrix, 16, seed=1)
    covered = [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    before = glove_matrix[covered] @ glove_matrix[covered].T
    after = initial[covered] @ initial[covered].T
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4)
    assert initial.shape == (12, 16)


def test_the_seed_fixes_the_result(glove_matrix):
    first = glove_initial_embedding(glove_matrix, 16, seed=3)
    np.testing.assert_array_equal(first, glove_initial_embedding(glove_matrix, 16, seed=3))
    assert not np.array_equal(first, glove_initial_embedding(glove_matrix, 16, seed=4))


def test_a_matrix_without_any_glove_row_is_refused():
    with pytest.raises(ValueError, match="no vector for any word"):
        glove_initial_embedding(np.zeros((4, 3)), 3, seed=0)


def test_too_few_glove_words_for_the_pca_width_are_named(glove_matrix):
    sparse = np.zeros_like(glove_matrix)
    sparse[1:3] = glove_matrix[1:3]
    with pytest.raises(ValueError, match="only 2 words of the vocabulary"):
        glove_initial_embedding(sparse, 4, seed=0)
