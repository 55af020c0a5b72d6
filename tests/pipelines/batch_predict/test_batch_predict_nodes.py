"""Choosing the serving model and scoring partitions, with real (tiny) saved models."""

import logging
import re

import numpy as np
import pandas as pd
import pytest
from batch_predict_helpers import (
    HAIKU_FAMILIES,
    NEW,
    OLD,
    VOCABULARY,
    haiku_model,
    results_table,
)
from kedro.io import DatasetError
from kedro.io.core import Version
from pydantic import ValidationError

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.datasets import (
    HaikuModelDataset,
    PickleModelDataset,
    TrainedModelsDataset,
)
from agnews_pipeline.pipelines.batch_predict.nodes import (
    BatchPredictOptions,
    choose_serving_model,
    gather_partitions,
    score_partitions,
)
from agnews_pipeline.pipelines.explanation.text_classifier import TextPipelineClassifier
from agnews_pipeline.pipelines.reporting.baselines import train_tfidf_baseline

PROBABILITY_COLUMNS = [
    "probability_world",
    "probability_sports",
    "probability_business",
    "probability_sci_tech",
]


@pytest.fixture
def trained_models(models_dir):
    return TrainedModelsDataset(path=str(models_dir), families=HAIKU_FAMILIES).load()


def _choose(trained_models, table=None, model="best"):
    table = results_table() if table is None else table
    return choose_serving_model(table, trained_models, {"model": model})


def _fails(message, call, *args, **kwargs):
    with pytest.raises(ValueError) as raised:
        call(*args, **kwargs)
    assert str(raised.value) == message


# --- choosing the model ---------------------------------------------------------


def test_best_is_the_highest_validation_accuracy_among_trained_non_baseline_rows(
    trained_models,
):
    # The baseline row scores 0.91 but cannot serve.
    assert _choose(trained_models) == {
        "model": "glove_haiku.mean",
        "family": "glove_haiku",
        "approach": "mean",
        "model_version": OLD,
        "framework": "haiku",
        "tokenizer": "keras",
        "max_tokens": 50,
        "validation_accuracy": 0.82,
        "test_accuracy": 0.81,
        "chosen_by": "best",
    }


def test_best_is_chosen_on_validation_not_test(trained_models):
    # glove_haiku.mean has the higher test accuracy, glove_haiku.sum the higher
    # validation accuracy: the test split must not choose.
    table = results_table(validation={"glove_haiku.mean": 0.70, "glove_haiku.sum": 0.80})
    chosen = _choose(trained_models, table)
    assert (chosen["model"], chosen["validation_accuracy"], chosen["test_accuracy"]) == (
        "glove_haiku.sum",
        0.80,
        0.79,
    )


def test_best_ignores_untrained_rows_and_breaks_ties_by_name(trained_models):
    table = results_table(
        validation={"glove_haiku.sum": 0.82, "glove_haiku.flatten": 0.99},
        **{
            "glove_haiku.sum": ("trained", "haiku", "keras", 50, 0.81, OLD),
            "glove_haiku.flatten": ("missing", "haiku", "keras", 50, 0.99, None),
        },
    )
    assert _choose(trained_models, table)["model"] == "glove_haiku.mean"
    table = results_table(
        validation={"glove_haiku.sum": 0.85},
        **{"glove_haiku.sum": ("trained", "haiku", "keras", 25, 0.85, OLD)},
    )
    chosen = _choose(trained_models, table)
    assert (chosen["model"], chosen["max_tokens"]) == ("glove_haiku.sum", 25)


def test_a_named_approach_serves_even_if_not_the_best(trained_models):
    chosen = _choose(trained_models, model="glove_haiku.sum")
    assert (chosen["model"], chosen["test_accuracy"], chosen["chosen_by"]) == (
        "glove_haiku.sum",
        0.79,
        "parameter",
    )


def test_the_evaluated_version_serves_even_when_a_newer_one_exists(
    trained_models, caplog
):
    with caplog.at_level(logging.INFO):
        assert _choose(trained_models)["model_version"] == OLD
    assert (
        f"glove_haiku.mean has a newer version {NEW} than the evaluated {OLD}"
        in caplog.text
    )
    table = results_table(
        **{"glove_haiku.mean": ("trained", "haiku", "keras", 50, 0.81, NEW)}
    )
    assert _choose(trained_models, table)["model_version"] == NEW


def test_a_later_evaluation_run_serves_the_model_saved_by_then(trained_models, caplog):
    # Evaluated in a run of its own, after OLD was trained and before NEW was.
    later = "2025-03-01T00.00.00.000Z"
    table = results_table(
        **{"glove_haiku.mean": ("trained", "haiku", "keras", 50, 0.81, later)}
    )
    with caplog.at_level(logging.INFO):
        assert _choose(trained_models, table)["model_version"] == OLD
    assert (
        f"glove_haiku.mean: serving model version {OLD}, the latest saved by the "
        f"evaluated {later}" in caplog.text
    )


def test_without_a_model_version_the_latest_serves(trained_models, caplog):
    table = results_table(
        **{"glove_haiku.mean": ("trained", "haiku", "keras", 50, 0.81, None)}
    )
    assert _choose(trained_models, table)["model_version"] == NEW
    assert "no model_version for glove_haiku.mean; serving its latest" in caplog.text


def test_a_table_read_back_from_csv_is_understood(trained_models, tmp_path):
    # Empty cells come back as NaN, max_tokens as float, versions as strings.
    path = tmp_path / "results.csv"
    results_table().to_csv(path, index=False)
    chosen = _choose(trained_models, pd.read_csv(path))
    assert (chosen["model"], chosen["max_tokens"], chosen["model_version"]) == (
        "glove_haiku.mean",
        50,
        OLD,
    )


TRAINED = "['glove_haiku.mean', 'glove_haiku.sum']"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "glove_haiku.max",
            "batch_predict.model is 'glove_haiku.max', which the results table does "
            f"not list; expected 'best' or one of the trained approaches {TRAINED}",
        ),
        (
            "glove_haiku.flatten",
            "batch_predict.model is 'glove_haiku.flatten', whose status in the "
            "results table is 'missing', not 'trained'; train it (kedro run "
            "--pipelines=glove_haiku) and re-run the reporting pipeline, or choose "
            f"one of {TRAINED}",
        ),
        (
            "baselines.tfidf_logreg",
            "batch_predict.model is 'baselines.tfidf_logreg', a baseline reference "
            f"row, which cannot serve; expected 'best' or one of {TRAINED}",
        ),
    ],
)
def test_a_named_approach_that_cannot_serve_is_explained(
    trained_models, model, message
):
    _fails(message, _choose, trained_models, model=model)


def test_best_without_any_trained_approach_is_explained(trained_models):
    table = results_table(
        **{
            "glove_haiku.mean": ("missing", "haiku", "keras", 50, None, None),
            "glove_haiku.sum": ("missing", "haiku", "keras", 50, None, None),
        }
    )
    _fails(
        "batch_predict.model is 'best' but the results table has no trained "
        "approach with a validation accuracy (baselines cannot serve alone); train "
        "a family (e.g. kedro run --pipelines=glove_haiku), then re-run kedro run "
        "--pipelines=reporting",
        _choose,
        trained_models,
        table,
    )


def test_a_trained_row_without_files_or_with_a_vanished_version_is_explained(
    trained_models,
):
    _fails(
        "the results table lists glove_haiku.mean as trained, but no saved model of "
        "it was found under the models folder; re-run its training or the reporting "
        "pipeline",
        _choose,
        {},
    )
    gone = "2024-12-31T00.00.00.000Z"
    table = results_table(
        **{"glove_haiku.mean": ("trained", "haiku", "keras", 50, 0.81, gone)}
    )
    filepath = trained_models["glove_haiku.mean"].filepath
    _fails(
        f"the results table evaluated glove_haiku.mean at version '{gone}', but "
        f"'{filepath}' holds no model saved then or earlier (found ['{OLD}', "
        f"'{NEW}']); re-run the reporting pipeline",
        _choose,
        trained_models,
        table,
    )


def test_a_malformed_results_table_is_explained(trained_models):
    _fails(
        "results_table lacks the columns ['tokenizer', 'model_version']; expected the "
        "reporting pipeline's table with ['family', 'approach', 'status', "
        "'tokenizer', 'max_tokens', 'validation_accuracy', 'test_accuracy', "
        "'model_version']",
        _choose,
        trained_models,
        results_table().drop(columns=["tokenizer", "model_version"]),
    )
    table = results_table()
    _fails(
        "results_table lists ['glove_haiku.sum'] more than once; expected one row per "
        "approach",
        _choose,
        trained_models,
        pd.concat([table, table.iloc[[1]]]),
    )
    table = results_table(
        **{"glove_haiku.mean": ("trained", "haiku", "whitespace", 50, 0.81, OLD)}
    )
    _fails(
        "results_table row glove_haiku.mean: tokenizer 'whitespace'; expected one of "
        "['basic_english', 'keras', 'word_regex']",
        _choose,
        trained_models,
        table,
    )


@pytest.mark.parametrize(
    "options",
    [{"model": "glove_haiku"}, {"model": "best", "version": "latest"}, {"model": ""}],
)
def test_parameters_are_validated(options):
    with pytest.raises(ValidationError):
        BatchPredictOptions.model_validate(options)


def test_a_malformed_model_name_is_explained():
    with pytest.raises(ValidationError) as raised:
        BatchPredictOptions.model_validate({"model": "glove_haiku"})
    assert (
        "'glove_haiku' is neither 'best', 'ensemble' nor '<family>.<approach>' "
        "(e.g. 'glove_haiku.mean')" in str(raised.value)
    )


def test_default_parameters_choose_the_best():
    assert BatchPredictOptions().model == "best"


# --- scoring partitions ---------------------------------------------------------


def _incoming(files: dict[str, str]) -> dict:
    return {name: (lambda text=text: text) for name, text in files.items()}


def _score(trained_models, new, incoming=None, rejected_before=None, serving=None):
    return score_partitions(
        new_partitions=new,
        incoming_partitions=_incoming(incoming if incoming is not None else new),
        rejected_before=rejected_before,
        serving_model=serving or _choose(trained_models),
        trained_models=trained_models,
        vocabularies={"keras": lambda: VOCABULARY},
    )


def _expected_probabilities(trained_models, version, texts):
    model = trained_models["glove_haiku.mean"].load(version)
    return TextPipelineClassifier(model, VOCABULARY, 50).predict_texts(texts)


GOOD_CSV = "id,title,description\nA1,Stocks rally,oil cup\nA2,Team wins,the cup\n"
GOOD_JSONL = '{"id": 7, "text": "oil oil stocks"}\n'
BAD_JSONL = '{"id": 1, "text": "cup"}\n{"id": 2, "text": cup}\n'
BAD_REASON = (
    "b.jsonl, line 2: invalid JSON (Expecting value at column 19); expected one "
    "JSON object per line"
)


def test_each_good_partition_gets_its_predictions_and_a_bad_one_is_kept(
    trained_models, caplog
):
    new = {"a.csv": GOOD_CSV, "b.jsonl": BAD_JSONL, "c.jsonl": GOOD_JSONL}
    predictions, rejected = _score(trained_models, new)
    assert rejected == {"b.jsonl": BAD_REASON}
    assert f"Not scored, kept to retry once fixed: {BAD_REASON}" in caplog.text
    assert sorted(predictions) == ["a.csv", "c.jsonl"]

    frame = predictions["a.csv"]
    assert list(frame.columns) == [
        "id",
        "predicted_class",
        "predicted_label",
        *PROBABILITY_COLUMNS,
        "family",
        "approach",
        "model_version",
        "partition",
    ]
    assert frame["id"].tolist() == ["A1", "A2"]
    # The evaluated (OLD) version scores, on title + " " + description.
    expected = _expected_probabilities(
        trained_models, OLD, ["Stocks rally oil cup", "Team wins the cup"]
    )
    np.testing.assert_array_equal(frame[PROBABILITY_COLUMNS].to_numpy(), expected)
    assert frame["predicted_label"].tolist() == expected.argmax(axis=1).tolist()
    assert frame["predicted_class"].tolist() == [
        CLASS_NAMES[label] for label in expected.argmax(axis=1)
    ]
    np.testing.assert_allclose(frame[PROBABILITY_COLUMNS].sum(axis=1), 1.0, atol=1e-6)
    assert set(frame["family"]) == {"glove_haiku"}
    assert set(frame["approach"]) == {"mean"}
    assert set(frame["model_version"]) == {OLD}
    assert set(frame["partition"]) == {"a.csv"}
    assert predictions["c.jsonl"]["id"].tolist() == ["7"]
    assert set(predictions["c.jsonl"]["partition"]) == {"c.jsonl"}


def test_the_served_version_is_the_one_chosen(trained_models):
    serving = {**_choose(trained_models), "model_version": NEW}
    predictions, _ = _score(trained_models, {"c.jsonl": GOOD_JSONL}, serving=serving)
    expected = _expected_probabilities(trained_models, NEW, ["oil oil stocks"])
    np.testing.assert_array_equal(
        predictions["c.jsonl"][PROBABILITY_COLUMNS].to_numpy(), expected
    )
    assert set(predictions["c.jsonl"]["model_version"]) == {NEW}
    old = _expected_probabilities(trained_models, OLD, ["oil oil stocks"])
    assert not np.array_equal(expected, old)


def test_rejected_partitions_are_read_again_and_scored_once_fixed(
    trained_models, caplog
):
    rejected_before = {
        "b.jsonl": BAD_REASON,
        "gone.csv": "gone.csv: no articles; expected at least one row",
        "still.csv": "still.csv: no articles; expected at least one row",
    }
    incoming = {
        "a.csv": GOOD_CSV,  # scored by an earlier run: not read again
        "b.jsonl": GOOD_JSONL,  # fixed in place
        "still.csv": "id,text\n",
        "d.csv": "id,text\nD,team\n",
    }
    predictions, rejected = _score(
        trained_models, {"d.csv": "id,text\nD,team\n"}, incoming, rejected_before
    )
    assert sorted(predictions) == ["b.jsonl", "d.csv"]
    assert rejected == {
        "still.csv": "still.csv: no articles; expected at least one row"
    }
    assert (
        "gone.csv was rejected before and is no longer in the incoming folder; "
        "forgetting it" in caplog.text
    )


def test_a_rejected_partition_that_cannot_be_read_stays_rejected():
    def unreadable():
        raise DatasetError("Permission denied")

    contents, unreadable_reasons = gather_partitions(
        {}, {"x.csv": unreadable}, {"x.csv": "x.csv: no articles"}
    )
    assert contents == {}
    assert unreadable_reasons == {"x.csv": "x.csv: cannot be read (Permission denied)"}


def test_dot_files_are_skipped_not_rejected(trained_models):
    new = {".gitkeep": "", "sub/.feed.csv.tmp": "id,te", "a.csv": GOOD_CSV}
    predictions, rejected = _score(trained_models, new)
    assert sorted(predictions) == ["a.csv"]
    assert rejected == {}


def test_nothing_to_score_reads_no_model_and_no_vocabulary(trained_models, caplog):
    # No trained model or vocabulary is needed when there is nothing to score.
    with caplog.at_level(logging.INFO):
        result = score_partitions(
            new_partitions={},
            incoming_partitions={},
            rejected_before=None,
            serving_model=_choose(trained_models),
            trained_models={},
            vocabularies={},
        )
    assert result == ({}, {})
    assert "No new partitions to score" in caplog.text


def test_a_missing_vocabulary_is_explained(trained_models):
    with pytest.raises(ValueError) as raised:
        score_partitions(
            new_partitions={"a.csv": GOOD_CSV},
            incoming_partitions=_incoming({"a.csv": GOOD_CSV}),
            rejected_before=None,
            serving_model=_choose(trained_models),
            trained_models=trained_models,
            vocabularies={"word_regex": lambda: {}},
        )
    assert str(raised.value) == (
        "glove_haiku.mean needs the 'keras' vocabulary "
        "(04_feature/text_features/keras/vocabulary.json), which is missing (found "
        "['word_regex']); run kedro run --pipelines=glove_haiku"
    )


def test_a_model_removed_between_the_two_nodes_is_explained(trained_models):
    serving = _choose(trained_models)
    with pytest.raises(
        ValueError, match=re.escape("the serving model glove_haiku.mean")
    ):
        score_partitions(
            new_partitions={"a.csv": GOOD_CSV},
            incoming_partitions={},
            rejected_before=None,
            serving_model=serving,
            trained_models={},
            vocabularies={"keras": lambda: VOCABULARY},
        )


# --- serving the ensemble -------------------------------------------------------

ENSEMBLE_VERSION = "2025-07-01T00.00.00.000Z"


@pytest.fixture
def ensemble_models(tmp_path):
    """glove_haiku.mean and .sum (tiny, real) and a TF-IDF baseline, saved as the CLI does."""
    for approach, seed in (("mean", 0), ("sum", 2)):
        HaikuModelDataset(
            filepath=str(tmp_path / "glove_haiku" / approach / "model.npz"),
            version=Version(None, OLD),
        ).save(haiku_model(seed))
    train = pd.DataFrame(
        {
            "text": ["election vote", "football cup", "stocks oil", "chip software"] * 5,
            "label": [0, 1, 2, 3] * 5,
        }
    )
    PickleModelDataset(
        filepath=str(tmp_path / "baselines" / "tfidf_logreg" / "model.pkl"),
        version=Version(None, OLD),
    ).save(train_tfidf_baseline(train, {}))
    families = {
        **HAIKU_FAMILIES,
        "baselines": {
            "type": "agnews_pipeline.datasets.PickleModelDataset",
            "file_name": "model.pkl",
        },
    }
    return TrainedModelsDataset(path=str(tmp_path), families=families).load()


COMBINATION = {
    "weights": {"glove_haiku.mean": 0.5, "baselines.tfidf_logreg": 0.25, "glove_haiku.sum": 0.25},
    "members": {
        "glove_haiku.mean": {"weight": 0.5, "model_version": OLD, "tokenizer": "keras",
                             "max_tokens": 50},
        "baselines.tfidf_logreg": {"weight": 0.25, "model_version": OLD, "tokenizer": None,
                                   "max_tokens": None},
        "glove_haiku.sum": {"weight": 0.25, "model_version": OLD, "tokenizer": "keras",
                            "max_tokens": 50},
    },
    "validation_accuracy": 0.9,
    "saved_version": ENSEMBLE_VERSION,
}  # fmt: skip


def test_the_ensemble_serves_its_members_combined_with_the_fitted_weights(ensemble_models):
    table = results_table(
        **{"ensemble.greedy_selection": ("trained", "ensemble", None, None, 0.93, ENSEMBLE_VERSION)}
    )
    chosen = choose_serving_model(table, ensemble_models, {"model": "ensemble"}, COMBINATION)
    assert (chosen["model"], chosen["model_version"], chosen["test_accuracy"]) == (
        "ensemble.greedy_selection",
        ENSEMBLE_VERSION,
        0.93,
    )
    assert [(m["model"], m["weight"]) for m in chosen["members"]] == [
        ("glove_haiku.mean", 0.5),
        ("baselines.tfidf_logreg", 0.25),
        ("glove_haiku.sum", 0.25),
    ]
    new = {"a.csv": GOOD_CSV}
    predictions, rejected = score_partitions(
        new_partitions=new,
        incoming_partitions=_incoming(new),
        rejected_before=None,
        serving_model=chosen,
        trained_models=ensemble_models,
        vocabularies={"keras": lambda: VOCABULARY},
    )
    assert rejected == {}
    texts = ["Stocks rally oil cup", "Team wins the cup"]

    def member(name: str, max_tokens: int = 50):
        model = ensemble_models[name].load(OLD)
        if name.startswith("baselines."):
            return model.predict_texts(texts)
        return TextPipelineClassifier(model, VOCABULARY, max_tokens).predict_texts(texts)

    expected = (
        0.5 * member("glove_haiku.mean")
        + 0.25 * member("baselines.tfidf_logreg")
        + 0.25 * member("glove_haiku.sum")
    )
    frame = predictions["a.csv"]
    np.testing.assert_allclose(frame[PROBABILITY_COLUMNS].to_numpy(), expected, rtol=1e-5)
    assert set(frame["family"]) == {"ensemble"}
    assert set(frame["model_version"]) == {ENSEMBLE_VERSION}


def test_the_ensemble_without_a_fitted_combination_is_explained(ensemble_models):
    with pytest.raises(ValueError, match="no fitted ensemble was found"):
        choose_serving_model(results_table(), ensemble_models, {"model": "ensemble"}, None)
    missing = {**COMBINATION, "members": {**COMBINATION["members"]}}
    missing["members"]["glove_haiku.flatten"] = {
        "weight": 0.1, "model_version": OLD, "tokenizer": "keras", "max_tokens": 50,
    }  # fmt: skip
    with pytest.raises(ValueError, match="glove_haiku.flatten as trained, but no saved model"):
        choose_serving_model(results_table(), ensemble_models, {"model": "ensemble"}, missing)
