"""Strong simple baselines on the same splits: TF-IDF + logistic regression, fastText."""

from __future__ import annotations

import importlib.util
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.pipelines.evaluation.nodes import classification_metrics

logger = logging.getLogger(__name__)


class TfidfOptions(BaseModel):
    """The ``baselines.tfidf_logreg.options`` parameter block.

    Attributes:
        max_ngram: Longest word n-gram (2: unigrams and bigrams).
        min_df: Documents an n-gram must appear in to be kept.
        sublinear_tf: Use ``1 + log(tf)``, which suits short texts.
        C: Inverse regularisation strength of the logistic regression.
        max_iter: Solver iterations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_ngram: int = Field(2, ge=1)
    min_df: int = Field(1, ge=1)
    sublinear_tf: bool = True
    C: float = Field(10.0, gt=0)
    max_iter: int = Field(1000, ge=1)


class FastTextOptions(BaseModel):
    """The ``baselines.fasttext.options`` parameter block (fastText's own names).

    ``thread`` is 1 because fastText's Hogwild updates make multi-threaded
    training non-deterministic.

    Attributes:
        word_ngrams: Longest word n-gram (2: bigrams, as in the fastText paper).
        dim: Size of the word vectors.
        epoch: Passes over the training split.
        lr: Learning rate.
        seed: fastText's random seed.
        thread: Training threads.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    word_ngrams: int = Field(2, ge=1)
    dim: int = Field(10, ge=1)
    epoch: int = Field(5, ge=1)
    lr: float = Field(0.25, gt=0)
    seed: int = 0
    thread: int = Field(1, ge=1)


def _baseline_metrics(
    backend: str,
    test: pd.DataFrame,
    test_predicted: np.ndarray,
    *,
    validation_accuracy: float,
    train_seconds: float,
    parameters: int,
    description: dict[str, Any],
) -> dict[str, Any]:
    metrics = classification_metrics(
        test["label"].to_numpy(), np.asarray(test_predicted)
    )
    return {
        "backend": backend,
        **metrics,
        "validation_accuracy": validation_accuracy,
        "best_validation_accuracy": validation_accuracy,
        "reference_test_accuracy": None,
        "difference_from_reference": None,
        "epochs": description.pop("epochs", None),
        "train_seconds": train_seconds,
        "seconds_per_epoch": None,
        "tokenizer": description.pop("tokenizer"),
        "max_tokens": None,
        "model": {"parameters": parameters, "trainable_parameters": parameters},
        "embedding": {"trainable": True, "glove": None, **description},
    }


def train_tfidf_baseline(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
    options: TfidfOptions,
) -> dict[str, Any]:
    """Fit word n-gram TF-IDF + logistic regression on train and score the test split.

    Args:
        train: Training split with ``text`` and ``label``.
        validation: Validation split, scored for the table's validation column.
        test: Test split, the same rows the neural approaches are scored on.
        options: The approach's options (a dict is validated).

    Returns:
        Metrics in the schema of the neural approaches' ``metrics.json``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415

    options = TfidfOptions.model_validate(options)
    model = make_pipeline(
        TfidfVectorizer(
            ngram_range=(1, options.max_ngram),
            min_df=options.min_df,
            sublinear_tf=options.sublinear_tf,
        ),
        LogisticRegression(C=options.C, max_iter=options.max_iter),
    )
    started = time.perf_counter()
    model.fit(train["text"], train["label"])
    seconds = time.perf_counter() - started
    vectorizer, classifier = model.steps[0][1], model.steps[1][1]
    validation_accuracy = float(np.mean(model.predict(validation["text"]) == validation["label"]))
    metrics = _baseline_metrics(
        "scikit-learn",
        test,
        model.predict(test["text"]),
        validation_accuracy=validation_accuracy,
        train_seconds=seconds,
        parameters=int(classifier.coef_.size + classifier.intercept_.size),
        description={
            "tokenizer": f"scikit-learn word 1-{options.max_ngram}-grams",
            "features": len(vectorizer.vocabulary_),
        },
    )
    logger.info("TF-IDF + logistic regression: test accuracy %.4f", metrics["test_accuracy"])
    return metrics


def fasttext_available() -> bool:
    """Whether the optional ``fasttext`` package is installed."""
    return importlib.util.find_spec("fasttext") is not None


def _one_line_texts(split: pd.DataFrame) -> pd.Series:
    # fastText reads one example per line, so a text must not span several.
    return split["text"].str.replace(r"\s+", " ", regex=True).str.strip()


def _fasttext_lines(split: pd.DataFrame) -> str:
    # Each line: the example's label token, then its text.
    texts = _one_line_texts(split)
    return "".join(
        f"__label__{label} {text}\n" for label, text in zip(split["label"], texts, strict=True)
    )


def train_fasttext_baseline(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
    options: FastTextOptions,
) -> dict[str, Any]:
    """Train fastText with word bigrams on train and score the test split.

    Args:
        train: Training split with ``text`` and ``label``.
        validation: Validation split, scored for the table's validation column.
        test: Test split.
        options: The approach's options (a dict is validated).

    Returns:
        Metrics in the schema of ``metrics.json``; when the ``fasttext`` package is
        not installed, ``{"status": "unavailable", "reason": ...}`` so that the
        results table says why the row is empty.
    """
    options = FastTextOptions.model_validate(options)
    if not fasttext_available():
        reason = "the optional package fasttext is not installed (pip install fasttext)"
        logger.warning("fastText baseline skipped: %s", reason)
        return {"status": "unavailable", "reason": reason}
    import fasttext  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        train_file = Path(folder) / "train.txt"
        train_file.write_text(_fasttext_lines(train), encoding="utf-8")
        started = time.perf_counter()
        model = fasttext.train_supervised(
            input=str(train_file),
            wordNgrams=options.word_ngrams,
            dim=options.dim,
            epoch=options.epoch,
            lr=options.lr,
            seed=options.seed,
            thread=options.thread,
            verbose=0,
        )
        seconds = time.perf_counter() - started

    def predict(split: pd.DataFrame) -> np.ndarray:
        labels, _ = model.predict(_one_line_texts(split).tolist())
        return np.asarray([int(found[0].removeprefix("__label__")) for found in labels])

    validation_accuracy = float(np.mean(predict(validation) == validation["label"].to_numpy()))
    input_rows, dim = model.get_input_matrix().shape
    metrics = _baseline_metrics(
        "fasttext",
        test,
        predict(test),
        validation_accuracy=validation_accuracy,
        train_seconds=seconds,
        parameters=int(input_rows * dim + len(CLASS_NAMES) * dim),
        description={
            "tokenizer": f"fastText words + {options.word_ngrams}-grams (hashed)",
            "dimension": dim,
            "epochs": options.epoch,
        },
    )
    logger.info("fastText: test accuracy %.4f", metrics["test_accuracy"])
    return metrics
