"""Nodes of the ``evaluation`` template: predictions, metrics, confusion matrix."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agnews_pipeline.classifier import CLASS_NAMES, TokenClassifier, predict_in_batches

logger = logging.getLogger(__name__)


def probability_column(class_name: str) -> str:
    """Name of the predictions column holding one class's probability.

    Args:
        class_name: One of ``CLASS_NAMES``, e.g. ``"Sci/Tech"``.

    Returns:
        A snake_case column name, e.g. ``"probability_sci_tech"``.
    """
    return "probability_" + class_name.lower().replace("/", "_")


def _accuracy(labels: np.ndarray, predicted: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    return float(np.mean(np.asarray(labels) == np.asarray(predicted)))


def _predict_features(
    trained_model: TokenClassifier, features: dict[str, np.ndarray]
) -> np.ndarray:
    probabilities = predict_in_batches(
        trained_model,
        np.asarray(features["token_ids"], dtype=np.int32),
        np.asarray(features["lengths"], dtype=np.int32),
    )
    expected = (len(features["token_ids"]), len(CLASS_NAMES))
    if probabilities.shape != expected:
        raise ValueError(
            f"{trained_model.backend} model returned probabilities of shape "
            f"{probabilities.shape}; expected {expected}"
        )
    return probabilities


def _to_builtin(value: Any) -> Any:
    """Turn numpy scalars and arrays nested in dicts and lists into plain Python."""
    if isinstance(value, dict):
        return {str(key): _to_builtin(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(item) for item in value]
    if isinstance(value, np.ndarray):
        return _to_builtin(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def predictions_frame(labels: np.ndarray, probabilities: np.ndarray) -> pd.DataFrame:
    """One row per example with its label, predicted class and class probabilities.

    Args:
        labels: True class indices, ``(N,)``.
        probabilities: Class probabilities, ``(N, len(CLASS_NAMES))``.

    Returns:
        Columns ``row``, ``label``, ``label_name``, ``predicted``,
        ``predicted_name`` and a float32 ``probability_<class>`` per class.
    """
    labels = np.asarray(labels, dtype=np.int32)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    predicted = probabilities.argmax(axis=1).astype(np.int32)
    names = np.asarray(CLASS_NAMES, dtype=object)
    return pd.DataFrame(
        {
            "row": np.arange(len(labels), dtype=np.int64),
            "label": labels,
            "label_name": names[labels],
            "predicted": predicted,
            "predicted_name": names[predicted],
            **{
                probability_column(name): probabilities[:, index]
                for index, name in enumerate(CLASS_NAMES)
            },
        }
    )


def prediction_probabilities(predictions: pd.DataFrame) -> np.ndarray:
    """The ``(N, 4)`` class probabilities of a :func:`predictions_frame`.

    Args:
        predictions: A predictions table (test or validation split).

    Returns:
        A float64 array, one column per class in ``CLASS_NAMES`` order.
    """
    columns = [probability_column(name) for name in CLASS_NAMES]
    return predictions[columns].to_numpy(dtype=np.float64)


def _predict_split(
    trained_model: TokenClassifier, features: dict[str, np.ndarray], split: str
) -> pd.DataFrame:
    probabilities = _predict_features(trained_model, features)
    predictions = predictions_frame(features["labels"], probabilities)
    logger.info(
        "%s model: %s accuracy %s on %d examples",
        trained_model.backend,
        split,
        _accuracy(predictions["label"], predictions["predicted"]),
        len(predictions),
    )
    return predictions


def predict_test_split(
    trained_model: TokenClassifier, test_features: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Score every test example and keep label, prediction and probabilities.

    Args:
        trained_model: Any backend's model implementing ``TokenClassifier``.
        test_features: ``{"token_ids": (N, T), "lengths": (N,), "labels": (N,)}``.

    Returns:
        One row per example: ``row``, ``label``, ``label_name``, ``predicted``,
        ``predicted_name`` and a float32 ``probability_<class>`` per class.
    """
    return _predict_split(trained_model, test_features, "test")


def predict_validation_split(
    trained_model: TokenClassifier, validation_features: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Score every validation example, in the format of :func:`predict_test_split`.

    The ensemble fits its combination on these, never on the test split.

    Args:
        trained_model: Any backend's model implementing ``TokenClassifier``.
        validation_features: Token ids, lengths and labels of the validation split.

    Returns:
        The same columns as :func:`predict_test_split`, one row per example.
    """
    return _predict_split(trained_model, validation_features, "validation")


def _confusion(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix  # noqa: PLC0415

    counts = confusion_matrix(labels, predicted, labels=range(len(CLASS_NAMES)))
    totals = counts.sum(axis=1, keepdims=True)
    # A class absent from the split has an all-zero row; zeros read better than NaN.
    normalized = np.divide(
        counts,
        totals,
        out=np.zeros(counts.shape, dtype=np.float64),
        where=totals > 0,
    )
    return {
        "labels": list(CLASS_NAMES),
        "counts": counts.tolist(),
        "normalized": normalized.tolist(),
    }


def classification_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Score predicted classes against true ones: accuracy, per-class report, confusion.

    Args:
        labels: True class indices.
        predicted: Predicted class indices, same length.

    Returns:
        ``test_accuracy``, ``test_examples``, ``classification_report`` (scikit-learn's,
        as a dict) and ``confusion_matrix`` (``labels``, ``counts``, ``normalized``).

    Raises:
        ValueError: If there is nothing to score.
    """
    # Imported here, not at the top: every kedro command imports the pipelines
    # (find_pipelines, kedro viz build) and scikit-learn adds about a second.
    from sklearn.metrics import classification_report  # noqa: PLC0415

    if len(labels) == 0:
        raise ValueError("No test predictions to evaluate: the test split is empty")
    return _to_builtin(
        {
            "test_accuracy": _accuracy(labels, predicted),
            "test_examples": len(labels),
            "classification_report": classification_report(
                labels,
                predicted,
                labels=list(range(len(CLASS_NAMES))),
                target_names=list(CLASS_NAMES),
                output_dict=True,
                zero_division=0,
            ),
            "confusion_matrix": _confusion(labels, predicted),
        }
    )


def evaluate_predictions(
    test_predictions: pd.DataFrame,
    trained_model: TokenClassifier,
    validation_predictions: pd.DataFrame,
    training_history: dict[str, Any],
    reference: dict[str, Any],
    *,
    vocabulary: dict[str, Any],
    max_tokens: int,
) -> dict[str, Any]:
    """Collect the metrics of one approach in a JSON-ready dict.

    Args:
        test_predictions: Output of :func:`predict_test_split`.
        trained_model: The model, for its backend and parameter counts.
        validation_predictions: Output of :func:`predict_validation_split`, the
            saved model's own scores, so the reported number is that model's.
        training_history: ``TrainingHistory.to_dict()`` of the training run.
        reference: The approach's ``reference`` parameter block; its
            ``test_accuracy`` (if any) is the number the tutorial reported.
        vocabulary: ``Vocabulary.to_dict()`` of the model's vocabulary; its
            tokenizer and size describe the approach's input.
        max_tokens: Length the texts were cut or padded to.

    Returns:
        Accuracies, classification report, confusion matrix, training summary, the
        reference comparison, what the model reads (tokenizer, vocabulary size,
        max tokens, embedding: trainable or which GloVe and its coverage), its
        parameter counts and the full history, as plain Python values.
    """
    labels = test_predictions["label"].to_numpy()
    predicted = test_predictions["predicted"].to_numpy()
    scores = classification_metrics(labels, predicted)
    test_accuracy = scores["test_accuracy"]

    validation_accuracy = _accuracy(
        validation_predictions["label"].to_numpy(),
        validation_predictions["predicted"].to_numpy(),
    )

    epochs = training_history.get("epochs") or 0
    train_seconds = training_history.get("train_seconds")
    reference = dict(reference or {})
    reference_accuracy = reference.get("test_accuracy")
    difference = (
        None
        if reference_accuracy is None
        else test_accuracy - float(reference_accuracy)
    )
    logger.info(
        "%s model: test accuracy %.4f (reference %s), validation accuracy %s",
        trained_model.backend,
        test_accuracy,
        reference_accuracy,
        validation_accuracy,
    )
    parameters = trained_model.parameter_summary()
    return _to_builtin(
        {
            "backend": trained_model.backend,
            "test_accuracy": test_accuracy,
            "validation_accuracy": validation_accuracy,
            "best_validation_accuracy": training_history.get(
                "best_validation_accuracy"
            ),
            "reference_test_accuracy": reference_accuracy,
            "difference_from_reference": difference,
            "test_examples": scores["test_examples"],
            "epochs": epochs,
            "best_epoch": training_history.get("best_epoch"),
            "train_seconds": train_seconds,
            "seconds_per_epoch": (
                train_seconds / epochs if epochs and train_seconds is not None else None
            ),
            "classification_report": scores["classification_report"],
            "confusion_matrix": scores["confusion_matrix"],
            "reference": reference,
            "tokenizer": vocabulary["tokenizer"],
            "vocabulary_size": len(vocabulary["tokens"]),
            "max_tokens": max_tokens,
            "model": parameters,
            "embedding": _embedding_summary(parameters, training_history),
            "history": training_history,
        }
    )


def _embedding_summary(
    summary: dict[str, int | bool], training_history: dict[str, Any]
) -> dict[str, Any]:
    """Say whether the embedding was learned or which GloVe it is, and its coverage."""
    glove = training_history.get("embedding") or {}
    return {
        "trainable": summary["embedding_trainable"],
        "dimension": summary["embedding_dimension"],
        "glove": glove.get("glove"),
        "requested_glove": glove.get("requested", glove.get("glove")),
        "fallback": bool(glove.get("fallback", False)),
        "token_coverage": glove.get("token_coverage"),
        "vocabulary_coverage": glove.get("vocabulary_coverage"),
    }


def plot_confusion_matrix(metrics: dict[str, Any]) -> Figure:
    """Draw the row-normalised confusion matrix with the count and share per cell.

    Args:
        metrics: Output of :func:`evaluate_predictions`.

    Returns:
        A figure (not registered with pyplot) for ``matplotlib.MatplotlibDataset``.
    """
    matrix = metrics["confusion_matrix"]
    names = matrix["labels"]
    counts = np.asarray(matrix["counts"])
    shares = np.asarray(matrix["normalized"], dtype=float)

    figure = Figure(figsize=(6.4, 5.6), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of true class")
    ticks = range(len(names))
    axes.set_xticks(ticks, labels=names)
    axes.set_yticks(ticks, labels=names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    for row in range(counts.shape[0]):
        for column in range(counts.shape[1]):
            share = shares[row, column]
            axes.text(
                column,
                row,
                f"{counts[row, column]}\n{share:.1%}",
                ha="center",
                va="center",
                # Dark cells need light text to stay readable.
                color="white" if share > 0.5 else "black",
                fontsize=9,
            )
    title = f"{metrics.get('backend', 'model')}: test accuracy {metrics['test_accuracy']:.2%}"
    axes.set_title(title)
    return figure
