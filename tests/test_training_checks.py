"""The feature checks every family's training runs before its first step."""

from __future__ import annotations

import numpy as np
import pytest

from agnews_pipeline.training import check_features, check_splits

TOKENS = np.array([[1, 2, 0], [3, 0, 0]], dtype=np.int64)
SPLIT = {"token_ids": TOKENS, "labels": np.array([0, 3]), "lengths": np.array([2, 1])}


def test_valid_features_come_back_as_contiguous_int32():
    checked = check_features(SPLIT, 4, 4, "train", lengths=True)
    assert checked["token_ids"].dtype == np.int32 and checked["labels"].dtype == np.int32
    assert checked["token_ids"].flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(checked["token_ids"], TOKENS)
    np.testing.assert_array_equal(checked["lengths"], [2, 1])
    assert set(check_features(SPLIT, 4, 4, "train")) == {"token_ids", "labels"}


@pytest.mark.parametrize(
    ("features", "options", "message"),
    [
        ({"token_ids": TOKENS, "labels": SPLIT["labels"]}, {"lengths": True},
         r"^train features lack \['lengths'\]$"),
        ({**SPLIT, "labels": np.array([0])}, {},
         r"^train features: token_ids must be \(N, T\) with one label per row, "
         r"got \(2, 3\), \(1,\)$"),
        ({**SPLIT, "lengths": np.array([1])}, {"lengths": True},
         r"one label and one length per row, got \(2, 3\), \(2,\), \(1,\)$"),
        (SPLIT, {"vocabulary": "the embedding matrix"},
         r"token ids span \[0, 3\] but the embedding matrix has 3 rows; were the "
         r"features built together with it \(the same tokenizer, the same vocabulary\)"),
        ({**SPLIT, "labels": np.array([0, 4])}, {},
         r"^train features: labels must lie in 0..3, got 0..4$"),
    ],
)  # fmt: skip
def test_bad_features_are_named_with_what_was_expected(features, options, message):
    vocab_size = 3 if "vocabulary" in options else 4
    with pytest.raises(ValueError, match=message):
        check_features(features, vocab_size, 4, "train", **options)


def test_both_splits_need_rows():
    empty = {"token_ids": np.zeros((0, 3)), "labels": np.zeros(0)}
    train, validation = check_splits(SPLIT, SPLIT, 4, 4)
    np.testing.assert_array_equal(validation["labels"], [0, 3])
    with pytest.raises(ValueError, match="must both have rows"):
        check_splits(SPLIT, empty, 4, 4)
    with pytest.raises(ValueError, match="^validation features: labels must lie"):
        check_splits(SPLIT, {**SPLIT, "labels": np.array([9, 0])}, 4, 4)
