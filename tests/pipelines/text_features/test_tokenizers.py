"""The three tokenizers against real AG News articles, token for token."""

import pytest

from agnews_pipeline.pipelines.text_features.tokenizers import (
    basic_english_tokenize,
    get_tokenizer,
    keras_tokenize,
    tokenize_all,
    word_regex_tokenize,
)

# First row of the official test.csv (title + " " + description).
PENSION = (
    "Fears for T N pension after talks Unions representing workers at Turner   Newall "
    "say they are 'disappointed' after talks with stricken parent firm Federal Mogul."
)
# Second row, cut after "Prize": parentheses, a dotted name, " -- ", the corpus's
# backslash line escape and its "#36;" dollar escape.
SPACE_RACE = (
    "The Race is On: Second Private Team Sets Launch Date for Human Spaceflight "
    "(SPACE.com) SPACE.com - TORONTO, Canada -- A second\\team of rocketeers competing "
    "for the  #36;10 million Ansari X Prize"
)
PENSION_WORDS = [
    "fears", "for", "t", "n", "pension", "after", "talks", "unions", "representing",
    "workers", "at", "turner", "newall", "say", "they", "are",
]  # fmt: skip
PENSION_TAIL = ["after", "talks", "with", "stricken", "parent", "firm", "federal", "mogul"]
SPACE_RACE_WORDS = [
    "the", "race", "is", "on", "second", "private", "team", "sets", "launch", "date",
    "for", "human", "spaceflight", "space", "com", "space", "com", "toronto", "canada",
    "a", "second", "team", "of", "rocketeers", "competing", "for", "the", "36", "10",
    "million", "ansari", "x", "prize",
]  # fmt: skip


def test_keras_keeps_apostrophes_and_drops_its_filter_characters():
    assert keras_tokenize(PENSION) == [*PENSION_WORDS, "'disappointed'", *PENSION_TAIL]
    assert keras_tokenize(SPACE_RACE) == SPACE_RACE_WORDS


def test_basic_english_splits_punctuation_into_tokens():
    assert basic_english_tokenize(PENSION) == [
        *PENSION_WORDS, "'", "disappointed", "'", *PENSION_TAIL, ".",
    ]  # fmt: skip
    assert basic_english_tokenize(SPACE_RACE) == [
        "the", "race", "is", "on", "second", "private", "team", "sets", "launch",
        "date", "for", "human", "spaceflight", "(", "space", ".", "com", ")", "space",
        ".", "com", "-", "toronto", ",", "canada", "--", "a", "second\\team", "of",
        "rocketeers", "competing", "for", "the", "#36", "10", "million", "ansari", "x",
        "prize",
    ]  # fmt: skip


def test_basic_english_matches_torchtext_rules():
    assert basic_english_tokenize("hello, world!") == ["hello", ",", "world", "!"]
    assert basic_english_tokenize('He said "no"; then:<br />Why?') == [
        "he", "said", "no", "then", "why", "?",
    ]  # fmt: skip


def test_word_regex_keeps_word_runs_only():
    assert word_regex_tokenize(PENSION) == [*PENSION_WORDS, "disappointed", *PENSION_TAIL]
    assert word_regex_tokenize(SPACE_RACE) == SPACE_RACE_WORDS


def test_tokenize_all_uses_the_named_tokenizer():
    assert tokenize_all(["A-b", "c"], "keras") == [["a", "b"], ["c"]]
    assert tokenize_all(["A-b"], "basic_english") == [["a-b"]]


def test_unknown_tokenizer_names_the_known_ones():
    with pytest.raises(ValueError, match=r"'spacy'.*basic_english.*keras.*word_regex"):
        get_tokenizer("spacy")
