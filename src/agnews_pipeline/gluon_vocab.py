"""A GluonNLP ``Vocab`` that matches a shared vocabulary id for id.

The tutorials of sections 3 and 5 build a ``gluonnlp.Vocab`` from token counts and
encode with it. Our ``word_regex`` vocabulary is fitted the same way (``<unk>`` at
index 0, frequency order, ties alphabetical), so rebuilding the ``Vocab`` from its
tokens and counts must give the very same ids; :func:`gluonnlp_vocab` checks that,
and the shared padded token-id matrices can then be used as they are. Used by the
``lstm_mxnet`` and ``glove_gluonnlp`` families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agnews_pipeline.mxnet_compat import import_gluonnlp

if TYPE_CHECKING:
    import gluonnlp


def gluonnlp_vocab(vocabulary: dict[str, Any]) -> gluonnlp.Vocab:
    """Build the ``gluonnlp.Vocab`` of a shared vocabulary and check its ids.

    Args:
        vocabulary: ``Vocabulary.to_dict()`` of a vocabulary whose index 0 is the
            unknown token (``word_regex``), with ``counts``.

    Returns:
        ``gluonnlp.Vocab(Counter(counts), unknown_token=<unk>, padding_token=None,
        bos_token=None, eos_token=None)``, whose ``idx_to_token`` equals the shared
        vocabulary's ``tokens``.

    Raises:
        ValueError: If the vocabulary has no unknown token at index 0, no counts,
            or GluonNLP orders its tokens differently.
    """
    tokens = list(vocabulary.get("tokens", ()))
    counts = list(vocabulary.get("counts", ()))
    unknown = vocabulary.get("unknown_token")
    if not tokens or unknown is None or tokens[0] != unknown:
        raise ValueError(
            "a GluonNLP Vocab needs a vocabulary with its unknown token at index 0 "
            f"(the word_regex style); got unknown_token={unknown!r} and "
            f"tokens[:1]={tokens[:1]}"
        )
    if len(counts) != len(tokens):
        raise ValueError(
            f"the vocabulary has {len(tokens)} tokens but {len(counts)} counts; "
            "re-run the text_features pipeline to save the counts"
        )
    gluonnlp = import_gluonnlp()
    counter = gluonnlp.data.Counter(dict(zip(tokens[1:], counts[1:], strict=True)))
    vocab = gluonnlp.Vocab(
        counter,
        unknown_token=unknown,
        padding_token=None,
        bos_token=None,
        eos_token=None,
    )
    if list(vocab.idx_to_token) != tokens:
        mismatch = next(
            (
                index
                for index, (ours, theirs) in enumerate(
                    zip(tokens, vocab.idx_to_token, strict=False)
                )
                if ours != theirs
            ),
            min(len(tokens), len(vocab.idx_to_token)),
        )
        raise ValueError(
            f"GluonNLP orders this vocabulary differently from the shared one "
            f"(first difference at id {mismatch}; {len(vocab)} vs {len(tokens)} "
            "tokens), so the shared token ids do not fit it; was the vocabulary "
            "fitted with alphabetical tie order?"
        )
    return vocab
