"""Raw text in, class probabilities out: what LIME needs from a token-id model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.pipelines.text_features.tokenizers import tokenize_all
from agnews_pipeline.pipelines.text_features.vocabulary import Vocabulary, encode


class TextPipelineClassifier:
    """A trained model behind the same tokenizer and vocabulary it was trained with.

    Attributes:
        model: Any backend's model implementing ``TokenClassifier``.
        vocabulary: The vocabulary the model's token ids come from.
        max_tokens: Length every text is cut or padded to.
        batch_size: Texts scored per ``predict_proba`` call.
    """

    def __init__(
        self,
        model: TokenClassifier,
        vocabulary: dict[str, Any] | Vocabulary,
        max_tokens: int,
        batch_size: int = 2048,
    ) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        self.model = model
        self.vocabulary = (
            vocabulary
            if isinstance(vocabulary, Vocabulary)
            else Vocabulary.from_dict(vocabulary)
        )
        self.max_tokens = max_tokens
        self.batch_size = batch_size

    def predict_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Score raw texts.

        Args:
            texts: Texts to classify; LIME passes thousands of perturbed copies.

        Returns:
            float32 probabilities of shape ``(len(texts), 4)``.
        """
        token_lists = tokenize_all(texts, self.vocabulary.tokenizer)
        token_ids, lengths = encode(token_lists, self.vocabulary, self.max_tokens)
        return predict_in_batches(self.model, token_ids, lengths, self.batch_size)
