"""gluonnlp_vocab: the GluonNLP Vocab of a shared vocabulary has the very same ids."""

import pytest

from agnews_pipeline.gluon_vocab import gluonnlp_vocab
from agnews_pipeline.pipelines.text_features.tokenizers import tokenize_all
from agnews_pipeline.pipelines.text_features.vocabulary import (
    build_vocabulary,
    count_tokens,
)

TEXTS = [
    "Stocks fall as oil prices rise; oil traders wary.",
    "Zebra wins the cup! Apple and zebra fans cheer.",
    "New chip: faster, cheaper, and cooler than the old chip.",
]


def _vocabulary():
    counts = count_tokens(tokenize_all(TEXTS, "word_regex"))
    return build_vocabulary(counts, "word_regex").to_dict()


def test_gluonnlp_vocab_matches_the_shared_word_regex_vocabulary():
    vocabulary = _vocabulary()
    vocab = gluonnlp_vocab(vocabulary)
    assert vocab.idx_to_token == vocabulary["tokens"]
    assert len(vocab) == vocabulary["size"]
    assert vocab.unknown_token == "<unk>" and vocab.padding_token is None
    # Tied counts are ordered alphabetically by both.
    assert vocab.idx_to_token[1:4] == ["and", "chip", "oil"]
    assert vocab["an-unseen-word"] == 0  # unknown words map to <unk>, id 0
    assert vocab[["oil", "zebra"]] == [
        vocabulary["tokens"].index("oil"),
        vocabulary["tokens"].index("zebra"),
    ]


def test_a_vocabulary_in_another_order_is_refused():
    vocabulary = _vocabulary()
    tokens = vocabulary["tokens"]
    swapped = {**vocabulary, "tokens": [tokens[0], tokens[2], tokens[1], *tokens[3:]]}
    with pytest.raises(ValueError, match="first difference at id 1"):
        gluonnlp_vocab(swapped)


def test_vocabularies_it_cannot_rebuild_are_refused():
    vocabulary = _vocabulary()
    with pytest.raises(ValueError, match="unknown token at index 0"):
        gluonnlp_vocab({**vocabulary, "tokens": ["<pad>", "a"], "unknown_token": None})
    with pytest.raises(ValueError, match="counts"):
        gluonnlp_vocab({**vocabulary, "counts": []})
