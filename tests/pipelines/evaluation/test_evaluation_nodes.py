"""Predictions, metrics and the confusion-matrix figure of the evaluation template."""

import json

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import ParquetDataset
from matplotlib.figure import Figure

from agnews_pipeline.classifier import CLASS_NAMES, summarize_parameters
from agnews_pipeline.pipelines.evaluation import create_pipeline, create_template
from agnews_pipeline.pipelines.evaluation.nodes import (
    evaluate_predictions,
    plot_confusion_matrix,
    predict_test_split,
    predict_validation_split,
    prediction_probabilities,
    predictions_frame,
    probability_column,
)
from agnews_pipeline.training import TrainingHistory

# Hand-made example: no Sci/Tech article, one predicted as Sci/Tech.
TEST_LABELS = [0, 0, 0, 1, 1, 2, 2, 2]
TEST_PREDICTED = [0, 0, 1, 1, 1, 2, 0, 3]
VALIDATION_LABELS = [0, 1, 2, 3]
VALIDATION_PREDICTED = [0, 1, 2, 0]


class FirstTokenClassifier:
    """Predicts class ``token_ids[:, 0] % 4`` with probability 0.7."""

    backend = "fake"

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        assert token_ids.dtype == np.int32 and lengths.dtype == np.int32
        self.batch_sizes.append(len(token_ids))
        probabilities = np.full((len(token_ids), 4), 0.1)
        probabilities[np.arange(len(token_ids)), token_ids[:, 0] % 4] = 0.7
        return probabilities

    def parameter_summary(self) -> dict:
        return summarize_parameters(
            {"embedding": (10, 3), "dense": (3, 4), "bias": (4,)},
            embedding="embedding",
            frozen={"embedding"},
        )


VOCABULARY = {
    "tokenizer": "keras",
    "unknown_token": "<unk>",
    "tokens": ["", "<unk>", "a", "b"],
}


def features(labels: list[int], predicted: list[int]) -> dict[str, np.ndarray]:
    token_ids = np.ones((len(labels), 3), dtype=np.int32)
    # Offset by 4 so no predicted class leans on the padding id 0.
    token_ids[:, 0] = np.asarray(predicted) + 4
    return {
        "token_ids": token_ids,
        "lengths": np.full(len(labels), 3, dtype=np.int32),
        "labels": np.asarray(labels, dtype=np.int32),
    }


@pytest.fixture
def history() -> dict:
    return TrainingHistory(
        train_loss=[1.0, 0.5, 0.4],
        validation_accuracy=[0.5, 0.75, 0.7],
        seconds=[1.5, 2.5, 2.0],
        best_epoch=2,
    ).to_dict()


@pytest.fixture
def metrics(history) -> dict:
    model = FirstTokenClassifier()
    predictions = predict_test_split(model, features(TEST_LABELS, TEST_PREDICTED))
    return evaluate_predictions(
        predictions,
        model,
        predict_validation_split(model, features(VALIDATION_LABELS, VALIDATION_PREDICTED)),
        {**history, "embedding": {"glove": "glove.6B.50d", "token_coverage": 0.75}},
        {"test_accuracy": 0.5, "glove": "840B.300d"},
        vocabulary=VOCABULARY,
        max_tokens=3,
    )


def test_predictions_frame_has_one_row_per_example():
    predictions = predict_test_split(
        FirstTokenClassifier(), features(TEST_LABELS, TEST_PREDICTED)
    )
    probability_columns = [probability_column(name) for name in CLASS_NAMES]
    assert probability_columns == [
        "probability_world",
        "probability_sports",
        "probability_business",
        "probability_sci_tech",
    ]
    assert list(predictions.columns) == [
        "row",
        "label",
        "label_name",
        "predicted",
        "predicted_name",
        *probability_columns,
    ]
    assert predictions["row"].tolist() == list(range(len(TEST_LABELS)))
    assert predictions["label"].tolist() == TEST_LABELS
    assert predictions["predicted"].tolist() == TEST_PREDICTED
    assert predictions["predicted_name"].tolist()[-1] == "Sci/Tech"
    assert predictions["label_name"].tolist()[:4] == ["World"] * 3 + ["Sports"]
    assert (predictions[probability_columns].dtypes == np.float32).all()
    np.testing.assert_allclose(predictions[probability_columns].sum(axis=1), 1.0)


def test_validation_predictions_have_the_test_format():
    model = FirstTokenClassifier()
    validation = predict_validation_split(
        model, features(VALIDATION_LABELS, VALIDATION_PREDICTED)
    )
    test = predict_test_split(model, features(TEST_LABELS, TEST_PREDICTED))
    assert list(validation.columns) == list(test.columns)
    assert (validation.dtypes == test.dtypes).all()
    assert validation["predicted"].tolist() == VALIDATION_PREDICTED


def test_probabilities_round_trip_through_the_frame():
    probabilities = np.asarray([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]])
    frame = predictions_frame(np.asarray([3, 1]), probabilities)
    assert frame["predicted"].tolist() == [3, 0]
    np.testing.assert_allclose(prediction_probabilities(frame), probabilities, rtol=1e-6)


def test_predictions_are_scored_in_batches():
    model = FirstTokenClassifier()
    labels = [0] * 5000
    predictions = predict_test_split(model, features(labels, labels))
    assert model.batch_sizes == [2048, 2048, 904]
    assert len(predictions) == 5000


def test_accuracies(metrics):
    assert metrics["backend"] == "fake"
    assert metrics["test_accuracy"] == 5 / 8
    # Re-scored with the model: 3 of the 4 validation examples are right.
    assert metrics["validation_accuracy"] == 0.75
    assert metrics["best_validation_accuracy"] == 0.75
    assert metrics["test_examples"] == 8


def test_confusion_matrix_counts_and_row_shares(metrics):
    matrix = metrics["confusion_matrix"]
    assert matrix["labels"] == list(CLASS_NAMES)
    assert matrix["counts"] == [
        [2, 1, 0, 0],
        [0, 2, 0, 0],
        [1, 0, 1, 1],
        [0, 0, 0, 0],
    ]
    np.testing.assert_allclose(
        matrix["normalized"],
        [
            [2 / 3, 1 / 3, 0, 0],
            [0, 1, 0, 0],
            [1 / 3, 0, 1 / 3, 1 / 3],
            [0, 0, 0, 0],
        ],
    )
    # The class with no examples gives a row of zeros, not NaN.
    assert matrix["normalized"][3] == [0.0, 0.0, 0.0, 0.0]


def test_classification_report_per_class_and_averages(metrics):
    report = metrics["classification_report"]
    expected = {
        "World": (2 / 3, 2 / 3, 2 / 3, 3),
        "Sports": (2 / 3, 1.0, 0.8, 2),
        "Business": (1.0, 1 / 3, 0.5, 3),
        "Sci/Tech": (0.0, 0.0, 0.0, 0),
    }
    for name, (precision, recall, f1, support) in expected.items():
        assert report[name]["precision"] == pytest.approx(precision)
        assert report[name]["recall"] == pytest.approx(recall)
        assert report[name]["f1-score"] == pytest.approx(f1)
        assert report[name]["support"] == support
    assert report["accuracy"] == pytest.approx(5 / 8)
    assert report["macro avg"]["precision"] == pytest.approx(7 / 12)
    assert report["weighted avg"]["precision"] == pytest.approx(19 / 24)
    assert report["macro avg"]["support"] == 8


def test_training_summary_and_reference(metrics, history):
    assert metrics["epochs"] == 3
    assert metrics["best_epoch"] == 2
    assert metrics["train_seconds"] == 6.0
    assert metrics["seconds_per_epoch"] == 2.0
    assert metrics["history"] == {
        **history,
        "embedding": {"glove": "glove.6B.50d", "token_coverage": 0.75},
    }
    assert metrics["reference_test_accuracy"] == 0.5
    assert metrics["difference_from_reference"] == 0.125
    assert metrics["reference"] == {"test_accuracy": 0.5, "glove": "840B.300d"}


def test_no_reference_accuracy_gives_none(history):
    model = FirstTokenClassifier()
    predictions = predict_test_split(model, features(TEST_LABELS, TEST_PREDICTED))
    metrics = evaluate_predictions(
        predictions, model, predict_validation_split(model, features([0], [0])), history,
        {"glove": "6B.50d"},
        vocabulary=VOCABULARY,
        max_tokens=3,
    )
    assert metrics["reference_test_accuracy"] is None
    assert metrics["difference_from_reference"] is None


def test_metrics_describe_the_input_and_the_model(metrics):
    assert metrics["tokenizer"] == "keras"
    assert metrics["vocabulary_size"] == 4
    assert metrics["max_tokens"] == 3
    assert metrics["model"] == {
        "parameters": 30 + 12 + 4,
        "trainable_parameters": 16,
        "embedding_dimension": 3,
        "embedding_trainable": False,
    }
    assert metrics["embedding"] == {
        "trainable": False,
        "dimension": 3,
        "glove": "glove.6B.50d",
        "requested_glove": "glove.6B.50d",
        "fallback": False,
        "token_coverage": 0.75,
        "vocabulary_coverage": None,
    }


def test_parameter_summary_names_a_missing_embedding():
    with pytest.raises(KeyError, match="no parameter 'embed'"):
        summarize_parameters({"embedding": (2, 2)}, embedding="embed")


def test_metrics_are_plain_json(metrics):
    assert json.loads(json.dumps(metrics)) == metrics


def test_confusion_matrix_figure(metrics):
    figure = plot_confusion_matrix(metrics)
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == list(CLASS_NAMES)
    assert [label.get_text() for label in axes.get_yticklabels()] == list(CLASS_NAMES)
    assert "62.50%" in axes.get_title()
    cells = [text.get_text() for text in axes.texts]
    assert len(cells) == 16
    assert cells[0] == "2\n66.7%"
    assert cells[-1] == "0\n0.0%"


def test_create_pipeline_is_empty_for_find_pipelines():
    assert create_pipeline().nodes == []


def test_namespaced_template_runs_with_real_datasets(tmp_path, history):
    pipeline = Pipeline(
        create_template(),
        namespace="fam.appr",
        inputs={
            "test_features": "keras_50_test_features",
            "validation_features": "keras_50_validation_features",
        },
    )
    assert {node.name for node in pipeline.nodes} == {
        "fam.appr.predict_test_split_node",
        "fam.appr.predict_validation_split_node",
        "fam.appr.evaluate_predictions_node",
        "fam.appr.plot_confusion_matrix_node",
    }
    assert pipeline.inputs() == {
        "fam.appr.trained_model",
        "fam.appr.training_history",
        "fam.appr.vocabulary",
        "params:fam.appr.reference",
        "params:fam.appr.max_tokens",
        "keras_50_test_features",
        "keras_50_validation_features",
    }
    catalog = DataCatalog(
        {
            "fam.appr.trained_model": MemoryDataset(FirstTokenClassifier()),
            "fam.appr.training_history": MemoryDataset(history),
            "params:fam.appr.reference": MemoryDataset({"test_accuracy": 0.6}),
            "fam.appr.vocabulary": MemoryDataset(VOCABULARY),
            "params:fam.appr.max_tokens": MemoryDataset(3),
            "keras_50_test_features": MemoryDataset(
                features(TEST_LABELS, TEST_PREDICTED)
            ),
            "keras_50_validation_features": MemoryDataset(
                features(VALIDATION_LABELS, VALIDATION_PREDICTED)
            ),
            # The dataset types the project's catalog factories use.
            "fam.appr.test_predictions": ParquetDataset(
                filepath=str(tmp_path / "test_predictions.parquet")
            ),
            "fam.appr.validation_predictions": ParquetDataset(
                filepath=str(tmp_path / "validation_predictions.parquet")
            ),
            "fam.appr.metrics": JSONDataset(filepath=str(tmp_path / "metrics.json")),
            "fam.appr.confusion_matrix_plot": MatplotlibDataset(
                filepath=str(tmp_path / "confusion_matrix.png")
            ),
        }
    )
    SequentialRunner().run(pipeline, catalog)

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] == 5 / 8
    assert metrics["difference_from_reference"] == pytest.approx(0.025)
    predictions = pd.read_parquet(tmp_path / "test_predictions.parquet")
    assert predictions["predicted"].tolist() == TEST_PREDICTED
    validation = pd.read_parquet(tmp_path / "validation_predictions.parquet")
    assert validation["predicted"].tolist() == VALIDATION_PREDICTED
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
