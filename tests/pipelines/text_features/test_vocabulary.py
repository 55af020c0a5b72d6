"""Vocabulary order, reserved indices, padding and the text_features nodes."""

import json

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from pydantic import ValidationError

from agnews_pipeline.approaches import Approach
from agnews_pipeline.pipelines.text_features import create_pipeline
from agnews_pipeline.pipelines.text_features.nodes import (
    VocabularyOptions,
    encode_split,
    fit_vocabulary,
)
from agnews_pipeline.pipelines.text_features.vocabulary import (
    Vocabulary,
    build_vocabulary,
    count_tokens,
    encode,
)

TOKENS = [["b", "a", "c"], ["a", "d"], ["c", "b", "a"]]


def test_most_frequent_first_ties_in_first_seen_order_for_keras():
    vocabulary = build_vocabulary(count_tokens(TOKENS), "keras")
    # a: 3; c and b: 2 each (c seen first in TIED); d: 1.
    tied = [["c", "b", "a"], ["a", "d", "b"], ["a", "c"]]
    assert build_vocabulary(count_tokens(tied), "keras").tokens == (
        "<pad>", "a", "c", "b", "d",
    )  # fmt: skip
    assert vocabulary.counts == (0, 3, 2, 2, 1)
    assert vocabulary.unknown_token is None


@pytest.mark.parametrize("tokenizer", ["basic_english", "word_regex"])
def test_unknown_token_at_zero_and_alphabetical_ties_like_torchtext_and_gluonnlp(
    tokenizer,
):
    tied = [["c", "b", "a"], ["a", "d", "b"], ["a", "c"]]
    vocabulary = build_vocabulary(count_tokens(tied), tokenizer)
    assert vocabulary.tokens == ("<unk>", "a", "b", "c", "d")
    assert vocabulary.counts == (0, 3, 2, 2, 1)
    assert vocabulary.unknown_token == "<unk>"


def test_min_frequency_and_max_size():
    counts = count_tokens(TOKENS)
    assert build_vocabulary(counts, "keras", min_frequency=2).tokens == (
        "<pad>", "a", "b", "c",
    )  # fmt: skip
    assert build_vocabulary(counts, "keras", max_size=3).tokens == ("<pad>", "a", "b")


def test_encode_pads_and_truncates_at_the_end_and_drops_unknown_keras_words():
    vocabulary = build_vocabulary(count_tokens(TOKENS), "keras")
    token_ids, lengths = encode([["a", "zz", "b"], ["c", "b", "a", "d", "a"]], vocabulary, 4)
    assert token_ids.dtype == np.int32 and lengths.dtype == np.int32
    np.testing.assert_array_equal(token_ids, [[1, 2, 0, 0], [3, 2, 1, 4]])
    np.testing.assert_array_equal(lengths, [2, 4])


def test_encode_maps_unknown_words_to_the_unknown_index():
    vocabulary = build_vocabulary(count_tokens(TOKENS), "basic_english")
    token_ids, lengths = encode([["a", "zz", "b"], []], vocabulary, 4)
    np.testing.assert_array_equal(token_ids, [[1, 0, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 0])


def test_vocabulary_round_trips_through_json():
    vocabulary = build_vocabulary(count_tokens(TOKENS), "word_regex")
    restored = Vocabulary.from_dict(json.loads(json.dumps(vocabulary.to_dict())))
    assert restored == vocabulary
    with pytest.raises(ValueError, match="missing the keys.*tokens"):
        Vocabulary.from_dict({"tokenizer": "keras", "unknown_token": None})


def test_fit_vocabulary_counts_only_the_configured_splits():
    train, validation, test = [["a", "a", "b"]], [["v"]], [["t", "t", "t"]]
    on_train = fit_vocabulary(train, validation, test, "keras", {"fit_on": ["train"]})
    assert on_train["tokens"] == ["<pad>", "a", "b"]
    assert on_train["counts"] == [0, 2, 1]
    on_train_and_test = fit_vocabulary(
        train, validation, test, "keras", VocabularyOptions(fit_on=["train", "test"])
    )
    assert on_train_and_test["tokens"] == ["<pad>", "t", "a", "b"]
    assert on_train_and_test["size"] == 4


def test_vocabulary_options_reject_unknown_splits_and_keys():
    with pytest.raises(ValidationError, match="fit_on"):
        VocabularyOptions.model_validate({"fit_on": ["dev"]})
    with pytest.raises(ValidationError, match="min_freq"):
        VocabularyOptions.model_validate({"min_freq": 2})


def test_encode_split_returns_ids_lengths_and_labels():
    split = pd.DataFrame({"label": [3, 0], "text": ["x", "y"]})
    vocabulary = build_vocabulary(count_tokens(TOKENS), "keras").to_dict()
    features = encode_split(split, [["a"], ["d", "c"]], vocabulary, 3)
    np.testing.assert_array_equal(features["token_ids"], [[1, 0, 0], [4, 3, 0]])
    np.testing.assert_array_equal(features["lengths"], [1, 2])
    np.testing.assert_array_equal(features["labels"], [3, 0])
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        encode_split(split, [["a"], ["d"]], vocabulary, 0)


def test_every_feature_set_gets_one_vocabulary_and_its_own_token_ids():
    pipeline = create_pipeline()
    assert {"keras_vocabulary", "basic_english_vocabulary", "word_regex_vocabulary"} <= (
        pipeline.all_outputs()
    )
    for feature_set in ("keras_50", "basic_english_25", "basic_english_50", "word_regex_25"):
        for split in ("train", "validation", "test"):
            assert f"{feature_set}_{split}_features" in pipeline.all_outputs()
    vocabulary_producers = [
        node for node in pipeline.nodes if "word_regex_vocabulary" in node.outputs
    ]
    assert len(vocabulary_producers) == 1


def test_pipeline_shares_vocabulary_per_tokenizer_and_ids_per_max_tokens(tmp_path):
    def split(texts, labels):
        return pd.DataFrame({"label": labels, "text": texts})

    catalog = DataCatalog(
        {
            "ag_news_train": MemoryDataset(split(["Oil prices rise.", "Oil, again!"], [2, 2])),
            "ag_news_validation": MemoryDataset(split(["Prices fall"], [2])),
            "ag_news_test": MemoryDataset(split(["Unseen oil words"], [2])),
            "params:text_features.keras.tokenizer": MemoryDataset("keras"),
            "params:text_features.keras.vocabulary": MemoryDataset({"fit_on": ["train"]}),
            "params:conv1d_flax.conv1d_single.max_tokens": MemoryDataset(50),
            # Persisted, as in the project catalog, so the test can read it back.
            "keras_vocabulary": JSONDataset(
                filepath=str(tmp_path / "vocabulary.json")
            ),
        }
    )
    reader = Approach("conv1d_flax", "conv1d_single", "keras", 50, "6b_50d")
    pipeline = create_pipeline([reader])
    assert {node.namespace for node in pipeline.nodes} == {
        "text_features.keras",
        "text_features.keras_50",
    }
    assert pipeline.inputs() == {
        "ag_news_train",
        "ag_news_validation",
        "ag_news_test",
        "params:text_features.keras.tokenizer",
        "params:text_features.keras.vocabulary",
        "params:conv1d_flax.conv1d_single.max_tokens",
    }
    SequentialRunner().run(pipeline, catalog)
    vocabulary = catalog.load("keras_vocabulary")
    assert vocabulary["tokens"] == ["<pad>", "oil", "prices", "rise", "again"]
    test_features = catalog.load("keras_50_test_features")
    assert test_features["token_ids"].shape == (1, 50)
    np.testing.assert_array_equal(test_features["token_ids"][0, :2], [1, 0])
    np.testing.assert_array_equal(test_features["lengths"], [1])
