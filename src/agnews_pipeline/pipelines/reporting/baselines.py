"""Strong simple baselines on the same splits: TF-IDF + logistic regression (word and
character n-grams), TF-IDF + multinomial naive Bayes, fastText; the fine-tuned
transformer baseline lives in :mod:`.transformer_baseline`.

Each baseline is three nodes: train (the model is saved, versioned, so that
``batch_predict`` and the ensemble can serve it), predict the validation and test
splits (class probabilities in the evaluation template's format, which the ensemble
combines), and score (``metrics.json`` in the neural approaches' schema).
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.pipelines.evaluation.nodes import (
    classification_metrics,
    predictions_frame,
)

logger = logging.getLogger(__name__)


class _NgramOptions(BaseModel):
    """The TF-IDF n-gram settings both scikit-learn baselines share.

    Attributes:
        min_ngram: Shortest n-gram.
        max_ngram: Longest n-gram.
        min_df: Documents an n-gram must appear in to be kept.
        sublinear_tf: Use ``1 + log(tf)``, which suits short texts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_ngram: int = Field(1, ge=1)
    max_ngram: int = Field(2, ge=1)
    min_df: int = Field(1, ge=1)
    sublinear_tf: bool = True

    @model_validator(mode="after")
    def _ngram_range_is_ordered(self) -> _NgramOptions:
        if self.min_ngram > self.max_ngram:
            raise ValueError(
                f"min_ngram ({self.min_ngram}) must not exceed max_ngram ({self.max_ngram})"
            )
        return self


class TfidfOptions(_NgramOptions):
    """The ``baselines.tfidf_logreg.options`` (and ``char_tfidf_logreg``) parameter block.

    Attributes:
        analyzer: ``"word"`` n-grams, or ``"char_wb"``: character n-grams inside
            word boundaries, which share statistics between word forms and names.
        max_ngram: Longest n-gram (2 with words: unigrams and bigrams); the other
            n-gram settings are ``_NgramOptions``'.
        C: Inverse regularisation strength of the logistic regression.
        max_iter: Solver iterations.
    """

    analyzer: Literal["word", "char_wb"] = "word"
    C: float = Field(10.0, gt=0)
    max_iter: int = Field(1000, ge=1)


class NaiveBayesOptions(_NgramOptions):
    """The ``baselines.tfidf_naive_bayes.options`` parameter block (word n-grams).

    Attributes:
        max_ngram: Longest word n-gram; the other n-gram settings are
            ``_NgramOptions``'.
        alpha: Additive (Lidstone) smoothing of the per-class n-gram weights.
    """

    max_ngram: int = Field(3, ge=1)
    alpha: float = Field(0.03, gt=0)


class FastTextOptions(BaseModel):
    """The ``baselines.fasttext.options`` parameter block (fastText's own names).

    ``thread`` is 1 because fastText's Hogwild updates make multi-threaded
    training non-deterministic. Character n-grams (``minn``-``maxn``) share
    statistics between rare word forms, which matters with a few thousand articles
    a class.

    Attributes:
        word_ngrams: Longest word n-gram (2: bigrams, as in the fastText paper).
        minn: Shortest character n-gram (0 with ``maxn`` 0: words only).
        maxn: Longest character n-gram.
        dim: Size of the word vectors.
        epoch: Passes over the training split.
        lr: Learning rate.
        seed: fastText's random seed.
        thread: Training threads.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    word_ngrams: int = Field(2, ge=1)
    minn: int = Field(0, ge=0)
    maxn: int = Field(0, ge=0)
    dim: int = Field(10, ge=1)
    epoch: int = Field(5, ge=1)
    lr: float = Field(0.25, gt=0)
    seed: int = 0
    thread: int = Field(1, ge=1)


@dataclass
class BaselineModel:
    """A trained baseline: its estimator and how it was trained, pickled whole.

    Attributes:
        backend: ``"scikit-learn"`` or ``"fasttext"``.
        estimator: Has ``predict_proba(texts) -> (N, 4)``; ``None`` when the
            baseline could not be trained (``unavailable`` says why).
        train_seconds: Wall time of the fit.
        parameters: Learned parameter count.
        description: ``tokenizer`` and embedding details for the metrics.
        unavailable: Why there is no estimator, or ``None``.
    """

    backend: str
    estimator: Any
    train_seconds: float | None = None
    parameters: int | None = None
    description: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None

    def predict_texts(self, texts: list[str]) -> np.ndarray:
        """Class probabilities of raw texts, ``(len(texts), 4)`` in class order."""
        if self.estimator is None:
            raise ValueError(f"the {self.backend} baseline is unavailable: {self.unavailable}")
        return np.asarray(self.estimator.predict_proba(list(texts)), dtype=np.float64)


class _TfidfEstimator:
    """A fitted scikit-learn pipeline whose probability columns follow class order."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        found = self.pipeline.predict_proba(texts)
        # A class absent from train has no column; it gets probability 0.
        probabilities = np.zeros((len(texts), len(CLASS_NAMES)))
        probabilities[:, self.pipeline.classes_.astype(int)] = found
        return probabilities


class FastTextEstimator:
    """A fastText model that pickles as the bytes of its ``.bin`` file."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __getstate__(self) -> dict[str, bytes]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.bin"
            self.model.save_model(str(path))
            return {"bin": path.read_bytes()}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        import fasttext  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.bin"
            path.write_bytes(state["bin"])
            self.model = fasttext.load_model(str(path))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        lines = _one_line_texts(pd.DataFrame({"text": list(texts)})).tolist()
        labels, scores = self.model.predict(lines, k=-1, threshold=0.0)
        probabilities = np.zeros((len(lines), len(CLASS_NAMES)))
        for row, (found, score) in enumerate(zip(labels, scores, strict=True)):
            columns = [int(label.removeprefix("__label__")) for label in found]
            probabilities[row, columns] = score
        # fastText rounds its softmax; rows sum to 1 for the ensemble's averages.
        return probabilities / probabilities.sum(axis=1, keepdims=True).clip(1e-12)


def _tfidf_vectorizer(options: _NgramOptions, analyzer: str) -> Any:
    """The TF-IDF vectorizer the options describe."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    return TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=(options.min_ngram, options.max_ngram),
        min_df=options.min_df,
        sublinear_tf=options.sublinear_tf,
    )


def _ngram_label(analyzer: str, options: _NgramOptions) -> str:
    """``word 1-2-grams`` or ``character 1-5-grams (within words)``."""
    span = f"{options.min_ngram}-{options.max_ngram}-grams"
    return f"word {span}" if analyzer == "word" else f"character {span} (within words)"


def _fit_sklearn_baseline(
    train: pd.DataFrame, model: Any, tokenizer: str, parameters: Any
) -> BaselineModel:
    """Fit a (vectorizer, classifier) pipeline and describe it as a baseline."""
    started = time.perf_counter()
    model.fit(train["text"], train["label"])
    seconds = time.perf_counter() - started
    vectorizer, classifier = model.steps[0][1], model.steps[1][1]
    return BaselineModel(
        backend="scikit-learn",
        estimator=_TfidfEstimator(model),
        train_seconds=seconds,
        parameters=int(parameters(classifier)),
        description={
            "tokenizer": f"scikit-learn {tokenizer}",
            "features": len(vectorizer.vocabulary_),
        },
    )


def train_tfidf_baseline(train: pd.DataFrame, options: TfidfOptions) -> BaselineModel:
    """Fit word or character n-gram TF-IDF + logistic regression on the train split.

    Args:
        train: Training split with ``text`` and ``label``.
        options: The approach's options (a dict is validated).

    Returns:
        The fitted model with its training time and size.
    """
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415

    options = TfidfOptions.model_validate(options)
    model = make_pipeline(
        _tfidf_vectorizer(options, options.analyzer),
        LogisticRegression(C=options.C, max_iter=options.max_iter),
    )
    return _fit_sklearn_baseline(
        train,
        model,
        _ngram_label(options.analyzer, options),
        lambda classifier: classifier.coef_.size + classifier.intercept_.size,
    )


def train_naive_bayes_baseline(train: pd.DataFrame, options: NaiveBayesOptions) -> BaselineModel:
    """Fit word n-gram TF-IDF + multinomial naive Bayes on the train split.

    A generative model of the same n-grams errs differently from the
    discriminative ones, which is what the ensemble needs from a member.

    Args:
        train: Training split with ``text`` and ``label``.
        options: The approach's options (a dict is validated).

    Returns:
        The fitted model with its training time and size.
    """
    from sklearn.naive_bayes import MultinomialNB  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415

    options = NaiveBayesOptions.model_validate(options)
    model = make_pipeline(_tfidf_vectorizer(options, "word"), MultinomialNB(alpha=options.alpha))
    return _fit_sklearn_baseline(
        train,
        model,
        _ngram_label("word", options),
        lambda classifier: classifier.feature_log_prob_.size + classifier.class_log_prior_.size,
    )


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


def train_fasttext_baseline(train: pd.DataFrame, options: FastTextOptions) -> BaselineModel:
    """Train fastText with word bigrams (and character n-grams) on the train split.

    Args:
        train: Training split with ``text`` and ``label``.
        options: The approach's options (a dict is validated).

    Returns:
        The trained model; without the ``fasttext`` package, a model with no
        estimator whose ``unavailable`` says why, so the results table can.
    """
    options = FastTextOptions.model_validate(options)
    if not fasttext_available():
        reason = "the optional package fasttext is not installed (pip install fasttext)"
        logger.warning("fastText baseline skipped: %s", reason)
        return BaselineModel(backend="fasttext", estimator=None, unavailable=reason)
    import fasttext  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        train_file = Path(folder) / "train.txt"
        train_file.write_text(_fasttext_lines(train), encoding="utf-8")
        started = time.perf_counter()
        model = fasttext.train_supervised(
            input=str(train_file),
            wordNgrams=options.word_ngrams,
            minn=options.minn,
            maxn=options.maxn,
            dim=options.dim,
            epoch=options.epoch,
            lr=options.lr,
            seed=options.seed,
            thread=options.thread,
            verbose=0,
        )
        seconds = time.perf_counter() - started
    input_rows, dim = model.get_input_matrix().shape
    tokenizer = f"fastText words + {options.word_ngrams}-grams (hashed)"
    if options.maxn:
        tokenizer += f", character {options.minn}-{options.maxn}-grams"
    return BaselineModel(
        backend="fasttext",
        estimator=FastTextEstimator(model),
        train_seconds=seconds,
        parameters=int(input_rows * dim + len(CLASS_NAMES) * dim),
        description={"tokenizer": tokenizer, "dimension": dim, "epochs": options.epoch},
    )


def _empty_predictions() -> pd.DataFrame:
    return predictions_frame(np.zeros(0, dtype=np.int32), np.zeros((0, len(CLASS_NAMES))))


def predict_baseline_splits(
    trained_model: BaselineModel, validation: pd.DataFrame, test: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Class probabilities of the validation and test splits, as the neural approaches'.

    Args:
        trained_model: Output of a ``train_*_baseline`` node.
        validation: Validation split with ``text`` and ``label``.
        test: Test split with ``text`` and ``label``.

    Returns:
        ``(validation_predictions, test_predictions)`` in the evaluation
        template's format; empty tables for an unavailable baseline.
    """
    if trained_model.estimator is None:
        return _empty_predictions(), _empty_predictions()
    return tuple(
        predictions_frame(
            split["label"].to_numpy(), trained_model.predict_texts(split["text"].tolist())
        )
        for split in (validation, test)
    )


def evaluate_baseline(
    trained_model: BaselineModel,
    validation_predictions: pd.DataFrame,
    test_predictions: pd.DataFrame,
) -> dict[str, Any]:
    """Score a baseline's predictions in the schema of the neural approaches' metrics.

    Args:
        trained_model: Output of a ``train_*_baseline`` node.
        validation_predictions: Its validation-split predictions.
        test_predictions: Its test-split predictions.

    Returns:
        Metrics as in ``metrics.json``; ``{"status": "unavailable", "reason": ...}``
        when the baseline could not be trained.
    """
    if trained_model.estimator is None:
        return {"status": "unavailable", "reason": trained_model.unavailable}
    metrics = classification_metrics(
        test_predictions["label"].to_numpy(), test_predictions["predicted"].to_numpy()
    )
    validation_accuracy = float(
        np.mean(validation_predictions["label"] == validation_predictions["predicted"])
    )
    description = dict(trained_model.description)
    logger.info("%s baseline: test accuracy %.4f", trained_model.backend,
                metrics["test_accuracy"])  # fmt: skip
    return {
        "backend": trained_model.backend,
        **metrics,
        "validation_accuracy": validation_accuracy,
        "best_validation_accuracy": validation_accuracy,
        "reference_test_accuracy": None,
        "difference_from_reference": None,
        "epochs": description.pop("epochs", None),
        "train_seconds": trained_model.train_seconds,
        "seconds_per_epoch": None,
        "tokenizer": description.pop("tokenizer"),
        "max_tokens": None,
        "model": {
            "parameters": trained_model.parameters,
            "trainable_parameters": trained_model.parameters,
        },
        "embedding": {"trainable": True, "glove": None, **description},
    }
