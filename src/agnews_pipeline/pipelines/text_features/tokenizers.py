"""The three tokenizers of the tutorials, rebuilt without Keras or torchtext."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# tf.keras.preprocessing.text.Tokenizer's default `filters`: each becomes a space.
_KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_KERAS_TABLE = str.maketrans(_KERAS_FILTERS, " " * len(_KERAS_FILTERS))

# torchtext.data.utils._basic_english_normalize, rule for rule and in its order.
_BASIC_ENGLISH_RULES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    )
)

_WORD = re.compile(r"\w+")


def keras_tokenize(text: str) -> list[str]:
    """Lower-case, turn the Keras filter characters into spaces, split on whitespace."""
    return text.lower().translate(_KERAS_TABLE).split()


def basic_english_tokenize(text: str) -> list[str]:
    """torchtext's ``basic_english``: punctuation becomes its own token."""
    text = text.lower()
    for pattern, replacement in _BASIC_ENGLISH_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def word_regex_tokenize(text: str) -> list[str]:
    """Every ``\\w+`` run of the lower-cased text."""
    return _WORD.findall(text.lower())


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "keras": keras_tokenize,
    "basic_english": basic_english_tokenize,
    "word_regex": word_regex_tokenize,
}


def get_tokenizer(name: str) -> Callable[[str], list[str]]:
    """Return the tokenizer called ``name`` or fail naming the ones that exist."""
    try:
        return TOKENIZERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown tokenizer {name!r}; expected one of {sorted(TOKENIZERS)}"
        ) from None


def tokenize_all(texts: Iterable[str], tokenizer: str) -> list[list[str]]:
    """Tokenize every text with the named tokenizer."""
    tokenize = get_tokenizer(tokenizer)
    return [tokenize(text) for text in texts]
