"""Nodes of ``batch_predict``: choose the serving model, score the new partitions."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from kedro.io.core import DatasetError
from pydantic import BaseModel, ConfigDict, field_validator

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.datasets.trained_models_dataset import TrainedModel
from agnews_pipeline.pipelines.evaluation.nodes import probability_column
from agnews_pipeline.pipelines.explanation.text_classifier import TextPipelineClassifier
from agnews_pipeline.pipelines.text_features.tokenizers import TOKENIZERS

from .parsing import PartitionError, parse_partition

logger = logging.getLogger(__name__)

BEST = "best"
ENSEMBLE = "ensemble"
BASELINE_FAMILY = "baselines"
RESULTS_COLUMNS = (
    "family",
    "approach",
    "status",
    "tokenizer",
    "max_tokens",
    "validation_accuracy",
    "test_accuracy",
    "model_version",
)


class BatchPredictOptions(BaseModel):
    """The ``batch_predict`` parameter block.

    Attributes:
        model: ``"best"`` (the trained approach with the highest validation
            accuracy in the results table: model selection never looks at the test
            split), ``"ensemble"`` (the fitted ensemble of the ``ensemble``
            pipeline, its members' models combined) or ``"<family>.<approach>"``,
            e.g. ``"glove_haiku.mean"``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = BEST

    @field_validator("model")
    @classmethod
    def _best_or_an_approach(cls, value: str) -> str:
        if value not in {BEST, ENSEMBLE} and not re.fullmatch(r"\w+\.\w+", value):
            raise ValueError(
                f"{value!r} is neither 'best', 'ensemble' nor '<family>.<approach>' "
                "(e.g. 'glove_haiku.mean')"
            )
        return value


def _text(value: Any) -> str:
    """A table cell as text; an empty cell (NaN, None, pd.NA) is ``""``."""
    return "" if pd.isna(value) else str(value).strip()


def _check_results_table(results_table: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in RESULTS_COLUMNS if column not in results_table]
    if missing:
        raise ValueError(
            f"results_table lacks the columns {missing}; expected the reporting "
            f"pipeline's table with {list(RESULTS_COLUMNS)}"
        )
    table = results_table.assign(
        test_accuracy=pd.to_numeric(results_table["test_accuracy"], errors="coerce"),
        validation_accuracy=pd.to_numeric(
            results_table["validation_accuracy"], errors="coerce"
        ),
        family=results_table["family"].map(_text),
        approach=results_table["approach"].map(_text),
        status=results_table["status"].map(_text),
    )
    table["name"] = table["family"] + "." + table["approach"]
    repeated = sorted(set(table.loc[table["name"].duplicated(), "name"]))
    if repeated:
        raise ValueError(
            f"results_table lists {repeated} more than once; expected one row per "
            "approach"
        )
    return table


def _servable(table: pd.DataFrame) -> pd.DataFrame:
    # Baselines serve only inside the ensemble; the ensemble is asked for by name
    # (its validation accuracy is measured on the rows it was fitted on).
    return table[
        ~table["family"].isin({BASELINE_FAMILY, ENSEMBLE}) & (table["status"] == "trained")
    ]


def _pick_row(table: pd.DataFrame, choice: str) -> pd.Series:
    servable = _servable(table)
    if choice == BEST:
        # Chosen on the validation split: picking by test accuracy would make the
        # test split a model-selection set and its accuracy optimistic.
        ranked = servable[servable["validation_accuracy"].notna()]
        if ranked.empty:
            raise ValueError(
                "batch_predict.model is 'best' but the results table has no trained "
                "approach with a validation accuracy (baselines cannot serve alone); "
                "train a family (e.g. kedro run --pipelines=glove_haiku), then re-run "
                "kedro run --pipelines=reporting"
            )
        # Ties go to the alphabetically first approach, so the choice is stable.
        ranked = ranked.sort_values(
            ["validation_accuracy", "name"], ascending=[False, True]
        )
        return ranked.iloc[0]
    trained = sorted(servable["name"])
    found = table[table["name"] == choice]
    if found.empty:
        raise ValueError(
            f"batch_predict.model is {choice!r}, which the results table does not "
            f"list; expected 'best' or one of the trained approaches {trained}"
        )
    row = found.iloc[0]
    if row["family"] == BASELINE_FAMILY:
        raise ValueError(
            f"batch_predict.model is {choice!r}, a baseline reference row, which "
            f"cannot serve; expected 'best' or one of {trained}"
        )
    if row["status"] != "trained":
        raise ValueError(
            f"batch_predict.model is {choice!r}, whose status in the results table "
            f"is {row['status']!r}, not 'trained'; train it (kedro run "
            f"--pipelines={row['family']}) and re-run the reporting pipeline, or "
            f"choose one of {trained}"
        )
    return row


def _model_version(row: Mapping[str, Any], model: TrainedModel | None) -> str:
    name = row["name"]
    if model is None:
        raise ValueError(
            f"the results table lists {name} as trained, but no saved model of it "
            "was found under the models folder; re-run its training or the "
            "reporting pipeline"
        )
    evaluated = _text(row["model_version"])
    if not evaluated:
        logger.warning(
            "The results table gives no model_version for %s; serving its latest, %s",
            name,
            model.version,
        )
        return model.version
    # Kedro versions are timestamps that sort as strings. A model evaluated in a
    # later run than the one that trained it carries that run's version: the model
    # evaluated is then the latest saved at or before it.
    saved_by_then = [version for version in model.versions if version <= evaluated]
    if not saved_by_then:
        raise ValueError(
            f"the results table evaluated {name} at version {evaluated!r}, but "
            f"'{model.filepath}' holds no model saved then or earlier (found "
            f"{list(model.versions)}); re-run the reporting pipeline"
        )
    served = saved_by_then[-1]
    if served != evaluated:
        logger.info(
            "%s: serving model version %s, the latest saved by the evaluated %s",
            name,
            served,
            evaluated,
        )
    if model.version != served:
        # Serving a model the table has not evaluated would break its promise.
        logger.info(
            "%s has a newer version %s than the evaluated %s; serving %s until the "
            "reporting pipeline evaluates it",
            name,
            model.version,
            served,
            served,
        )
    return served


def _ensemble_member(name: str, member: Mapping[str, Any],
                     trained_models: Mapping[str, TrainedModel]) -> dict[str, Any]:  # fmt: skip
    family, approach = name.split(".", 1)
    version = _model_version(
        {"name": name, "model_version": member.get("model_version")},
        trained_models.get(name),
    )
    tokenizer = member.get("tokenizer")
    if family != BASELINE_FAMILY and tokenizer not in TOKENIZERS:
        raise ValueError(
            f"ensemble member {name}: tokenizer {tokenizer!r}; expected one of "
            f"{sorted(TOKENIZERS)}"
        )
    return {
        "model": name,
        "family": family,
        "approach": approach,
        "model_version": version,
        "tokenizer": tokenizer,
        "max_tokens": member.get("max_tokens"),
        "weight": float(member["weight"]),
    }


def _choose_ensemble(
    table: pd.DataFrame,
    combination: Mapping[str, Any] | None,
    trained_models: Mapping[str, TrainedModel],
) -> dict[str, Any]:
    if not combination or not combination.get("members"):
        raise ValueError(
            "batch_predict.model is 'ensemble' but no fitted ensemble was found "
            "(06_models/ensemble/); run kedro run --pipelines=ensemble (or reporting) "
            "after training"
        )
    members = [
        _ensemble_member(name, member, trained_models)
        for name, member in combination["members"].items()
    ]
    row = table[table["family"] == ENSEMBLE]
    accuracy = row["test_accuracy"].iloc[0] if len(row) else None
    family, approach = (
        (row["family"].iloc[0], row["approach"].iloc[0]) if len(row) else (ENSEMBLE, ENSEMBLE)
    )
    chosen = {
        "model": f"{family}.{approach}",
        "family": family,
        "approach": approach,
        "model_version": combination.get("saved_version"),
        "framework": ENSEMBLE,
        "tokenizer": None,
        "max_tokens": None,
        "validation_accuracy": combination.get("validation_accuracy"),
        "test_accuracy": None if accuracy is None or pd.isna(accuracy) else float(accuracy),
        "chosen_by": "parameter",
        "members": members,
    }
    logger.info(
        "Serving the ensemble version %s: %s",
        chosen["model_version"],
        ", ".join(f"{m['model']} ({m['model_version']}) x {m['weight']:.3f}" for m in members),
    )
    return chosen


def choose_serving_model(
    results_table: pd.DataFrame,
    trained_models: Mapping[str, TrainedModel],
    options: BatchPredictOptions,
    ensemble_combination: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Pick the model that scores new articles, and the version that was evaluated.

    Args:
        results_table: The reporting pipeline's table, one row per approach.
        trained_models: ``TrainedModelsDataset``'s listing (nothing is loaded).
        options: The ``batch_predict`` block (a dict is validated here).
        ensemble_combination: The ``ensemble`` pipeline's fitted combination
            (members, weights, versions), or ``None`` when none was fitted; read
            only when ``options.model`` is ``"ensemble"``.

    Returns:
        ``model`` (``<family>.<approach>``), ``family``, ``approach``,
        ``model_version``, ``framework``, ``tokenizer``, ``max_tokens``,
        ``validation_accuracy``, ``test_accuracy`` and ``chosen_by`` (``"best"``
        or ``"parameter"``); for the ensemble also ``members`` (each with its
        model, version, input and weight).

    Raises:
        ValueError: If the table lacks columns, the named approach is not listed,
            is a baseline or is not trained, or its evaluated model is not on disk.
    """
    options = BatchPredictOptions.model_validate(options)
    table = _check_results_table(results_table)
    if options.model == ENSEMBLE or options.model.split(".")[0] == ENSEMBLE:
        return _choose_ensemble(table, ensemble_combination, trained_models)
    row = _pick_row(table, options.model)
    name = row["name"]
    tokenizer = _text(row["tokenizer"])
    if tokenizer not in TOKENIZERS:
        raise ValueError(
            f"results_table row {name}: tokenizer {tokenizer!r}; expected one of "
            f"{sorted(TOKENIZERS)}"
        )
    try:
        max_tokens = int(float(row["max_tokens"]))
    except (TypeError, ValueError):
        max_tokens = 0
    if max_tokens < 1:
        raise ValueError(
            f"results_table row {name}: max_tokens {row['max_tokens']!r}; expected a "
            "positive integer"
        )
    version = _model_version(row, trained_models.get(name))
    accuracy = row["test_accuracy"]
    validation = row["validation_accuracy"]
    chosen = {
        "model": name,
        "family": row["family"],
        "approach": row["approach"],
        "model_version": version,
        "framework": _text(row.get("framework")),
        "tokenizer": tokenizer,
        "max_tokens": max_tokens,
        "validation_accuracy": None if pd.isna(validation) else float(validation),
        "test_accuracy": None if pd.isna(accuracy) else float(accuracy),
        "chosen_by": "best" if options.model == BEST else "parameter",
    }
    logger.info(
        "Serving %s, model version %s (validation accuracy %s, chosen by %s)",
        name,
        version,
        chosen["validation_accuracy"],
        chosen["chosen_by"],
    )
    return chosen


def _is_hidden(partition: str) -> bool:
    # Dot files are not drops: .gitkeep, editor swap files, rsync's temporary copies.
    return any(part.startswith(".") for part in partition.split("/"))


def gather_partitions(
    new_partitions: Mapping[str, str],
    incoming_partitions: Mapping[str, Callable[[], str]],
    rejected_before: Mapping[str, str] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The partitions to score now: the new ones and those rejected by earlier runs.

    Args:
        new_partitions: Contents of the partitions past the checkpoint.
        incoming_partitions: Load functions of every partition in the folder.
        rejected_before: ``{partition: reason}`` saved by the previous run.

    Returns:
        ``(contents, unreadable)``: ``{partition: text}`` in partition order, and
        ``{partition: reason}`` for a rejected partition that cannot be read again.
    """
    contents = {
        partition: text
        for partition, text in new_partitions.items()
        if not _is_hidden(partition)
    }
    unreadable: dict[str, str] = {}
    for partition in sorted(rejected_before or {}):
        if partition in contents:
            continue
        if partition not in incoming_partitions:
            logger.warning(
                "%s was rejected before and is no longer in the incoming folder; "
                "forgetting it",
                partition,
            )
            continue
        try:
            contents[partition] = incoming_partitions[partition]()
        except DatasetError as error:
            unreadable[partition] = f"{partition}: cannot be read ({error})"
    return dict(sorted(contents.items())), unreadable


def predictions_frame(
    articles: pd.DataFrame,
    probabilities: np.ndarray,
    serving_model: Mapping[str, Any],
    partition: str,
) -> pd.DataFrame:
    """One row per article: the predicted class, every probability, which model.

    Args:
        articles: ``parse_partition``'s table (``id``, ``text``).
        probabilities: ``(len(articles), 4)`` class probabilities.
        serving_model: ``choose_serving_model``'s record.
        partition: The input partition's id.

    Returns:
        Columns ``id``, ``predicted_class``, ``predicted_label``, one
        ``probability_<class>`` per class, ``family``, ``approach``,
        ``model_version`` and ``partition``.
    """
    labels = probabilities.argmax(axis=1)
    frame = pd.DataFrame(
        {
            "id": articles["id"].to_numpy(),
            "predicted_class": [CLASS_NAMES[label] for label in labels],
            "predicted_label": labels.astype(np.int64),
        }
    )
    for index, name in enumerate(CLASS_NAMES):
        frame[probability_column(name)] = probabilities[:, index]
    for key in ("family", "approach", "model_version"):
        frame[key] = serving_model[key]
    frame["partition"] = partition
    return frame


class _EnsembleScorer:
    """The members' class probabilities, averaged with the fitted weights."""

    def __init__(self, members: list[tuple[Any, float]]) -> None:
        self.members = members

    def predict_texts(self, texts: list[str]) -> np.ndarray:
        total = sum(weight for _, weight in self.members)
        return sum(
            weight / total * np.asarray(scorer.predict_texts(texts), dtype=np.float64)
            for scorer, weight in self.members
        )


def _text_classifier(
    serving_model: Mapping[str, Any],
    trained_models: Mapping[str, TrainedModel],
    vocabularies: Mapping[str, Callable[[], dict[str, Any]]],
) -> Any:
    """Something with ``predict_texts(texts) -> (N, 4)`` for the serving record."""
    if serving_model.get("members"):
        return _EnsembleScorer(
            [
                (_text_classifier(member, trained_models, vocabularies), member["weight"])
                for member in serving_model["members"]
            ]
        )
    name, tokenizer = serving_model["model"], serving_model["tokenizer"]
    if name not in trained_models:
        raise ValueError(
            f"the serving model {name} is no longer under the models folder; found "
            f"{sorted(trained_models)}"
        )
    if serving_model["family"] == BASELINE_FAMILY:
        # A baseline's saved model reads raw text itself.
        return trained_models[name].load(serving_model["model_version"])
    if tokenizer not in vocabularies:
        raise ValueError(
            f"{name} needs the {tokenizer!r} vocabulary "
            f"(04_feature/text_features/{tokenizer}/vocabulary.json), which is "
            f"missing (found {sorted(vocabularies)}); run kedro run "
            f"--pipelines={serving_model['family']}"
        )
    vocabulary = vocabularies[tokenizer]()
    if vocabulary.get("tokenizer") != tokenizer:
        raise ValueError(
            f"the {tokenizer!r} vocabulary says it was fitted with tokenizer "
            f"{vocabulary.get('tokenizer')!r}; expected {tokenizer!r}"
        )
    model = trained_models[name].load(serving_model["model_version"])
    return TextPipelineClassifier(model, vocabulary, serving_model["max_tokens"])


def score_partitions(
    *,
    new_partitions: Mapping[str, str],
    incoming_partitions: Mapping[str, Callable[[], str]],
    rejected_before: Mapping[str, str] | None,
    serving_model: Mapping[str, Any],
    trained_models: Mapping[str, TrainedModel],
    vocabularies: Mapping[str, Callable[[], dict[str, Any]]],
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Score every new partition and retry those rejected before.

    A partition that cannot be parsed is reported with its name and line and
    kept in the returned rejects, so that the next run reads it again (fixed in
    place, it is then scored); the others are scored regardless. The model and
    vocabulary are read only when there is something to score.

    Args:
        new_partitions: ``IncrementalDataset`` contents past the checkpoint.
        incoming_partitions: Lazy ``{partition: load}`` of the whole folder.
        rejected_before: ``{partition: reason}`` from the previous run, or None.
        serving_model: ``choose_serving_model``'s record.
        trained_models: ``TrainedModelsDataset``'s listing.
        vocabularies: Lazy ``{tokenizer: load}`` of the vocabularies.

    Returns:
        ``(predictions, rejected)``: ``{partition: predictions_frame}`` and
        ``{partition: reason}`` for the partitions still not scored.
    """
    contents, rejected = gather_partitions(
        new_partitions, incoming_partitions, rejected_before
    )
    articles: dict[str, pd.DataFrame] = {}
    for partition, content in contents.items():
        try:
            articles[partition] = parse_partition(partition, content)
        except PartitionError as error:
            rejected[partition] = str(error)
    for reason in rejected.values():
        logger.warning("Not scored, kept to retry once fixed: %s", reason)

    predictions: dict[str, pd.DataFrame] = {}
    if articles:
        classifier = _text_classifier(serving_model, trained_models, vocabularies)
        for partition, table in articles.items():
            probabilities = classifier.predict_texts(table["text"].tolist())
            predictions[partition] = predictions_frame(
                table, probabilities, serving_model, partition
            )
        logger.info(
            "Scored %d partition(s), %d article(s), with %s version %s: %s",
            len(predictions),
            sum(len(frame) for frame in predictions.values()),
            serving_model["model"],
            serving_model["model_version"],
            ", ".join(predictions),
        )
    elif not rejected:
        logger.info("No new partitions to score")
    return predictions, dict(sorted(rejected.items()))
