"""lstm_mxnet training: every weight trains, determinism, best epoch, clipping, GloVe
start, node, pipeline."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.validation.type_extractor import TypeExtractor

from agnews_pipeline.embeddings import glove_initial_embedding
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.pipelines.lstm_mxnet import create_pipeline, train
from agnews_pipeline.pipelines.lstm_mxnet.models import (
    LSTMClassifier,
    LSTMConfig,
    network_parameters,
)
from agnews_pipeline.pipelines.lstm_mxnet.nodes import ValidationOptions, train_model
from agnews_pipeline.pipelines.lstm_mxnet.train import (
    accuracy,
    check_features,
    make_network,
    make_trainer,
    padded_batch,
    train_lstm_classifier,
    train_step,
    trainable_gradients,
)
from agnews_pipeline.training import TrainingOptions

mx = import_mxnet()

PROJECT_ROOT = Path(__file__).resolve().parents[3]
V, T = 9, 6
APPROACHES = (
    "lstm_25",
    "lstm_50",
    "bilstm",
    "lstm_3layer",
    "lstm_stacked",
    "bilstm_3layer",
)


def _features(num_rows, seed):
    """Tokens 1+2c and 2+2c belong to class c: a separable toy set."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=num_rows).astype(np.int32)
    lengths = rng.integers(2, T + 1, size=num_rows).astype(np.int32)
    token_ids = 1 + 2 * labels[:, None] + rng.integers(0, 2, size=(num_rows, T))
    token_ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return {
        "token_ids": token_ids.astype(np.int32),
        "lengths": lengths,
        "labels": labels,
    }


TRAIN = _features(96, seed=1)
VALIDATION = _features(40, seed=2)
CONFIG = LSTMConfig(hidden_sizes=[8], embed_dim=8, dense_units=8)
OPTIONS = TrainingOptions(
    epochs=8, batch_size=16, learning_rate=0.02, seed=3, progress_bar=False
)
VOCABULARY = {
    "tokenizer": "word_regex",
    "unknown_token": "<unk>",
    "padding_index": 0,
    "size": V,
    "tokens": ["<unk>", "a", "b", "c", "d", "e", "f", "g", "h"],
    "counts": [0, 9, 8, 7, 6, 5, 4, 3, 2],
}


def _glove(rows=V, width=12):
    """A stand-in GloVe matrix: padding row 0 and every fourth word uncovered (zeros)."""
    matrix = np.random.default_rng(5).normal(size=(rows, width)).astype(np.float32)
    matrix[::4] = 0.0
    return matrix


GLOVE = _glove()


def _train(config=CONFIG, **options):
    return train_lstm_classifier(
        TRAIN, VALIDATION, V, config, OPTIONS.model_copy(update=options)
    )


@pytest.fixture(scope="module")
def trained():
    return _train()


def test_learns_a_separable_toy_set(trained):
    classifier, history = trained
    assert isinstance(classifier, LSTMClassifier)
    assert history["epochs"] == OPTIONS.epochs
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["best_validation_accuracy"] >= 0.9
    probabilities = classifier.predict_proba(
        VALIDATION["token_ids"], VALIDATION["lengths"]
    )
    accuracy_ = (probabilities.argmax(1) == VALIDATION["labels"]).mean()
    assert accuracy_ == history["validation_accuracy"][history["best_epoch"] - 1]


@pytest.mark.parametrize(
    ("bidirectional", "readout"),
    [(False, "last_token"), (True, "last_token"), (True, "last_token_position")],
)
def test_one_step_changes_every_parameter(bidirectional, readout):
    config = CONFIG.model_copy(
        update={"bidirectional": bidirectional, "num_layers": 2, "readout": readout}
    )
    network = make_network(config, V, seed=0)
    before = network_parameters(network)
    trainer = make_trainer(network, learning_rate=0.01)
    train = check_features(TRAIN, V, 4, "train")
    batch = padded_batch(train, np.arange(10), 16)
    loss = train_step(network, trainer, mx.gluon.loss.SoftmaxCrossEntropyLoss(), batch)
    assert np.isfinite(loss.asscalar())
    after = network_parameters(network)
    assert set(after) == set(before)
    unchanged = {
        name for name, value in after.items() if np.array_equal(value, before[name])
    }
    if readout == "last_token_position":
        # Read at the last token, the top backward LSTM has taken one step from a
        # zero state: its recurrent weights get no gradient (as with output[:, -1]).
        assert unchanged == {"backward1._unfused.0.h2h_weight"}
    else:
        assert not unchanged
    # Embedding rows of tokens absent from the batch get no gradient, so no step.
    seen = np.unique(train["token_ids"][:10])
    unseen = np.setdiff1d(np.arange(V), seen)
    np.testing.assert_array_equal(
        after["embedding.weight"][unseen], before["embedding.weight"][unseen]
    )


def test_padding_rows_weigh_nothing():
    network = make_network(CONFIG, V, seed=0)
    train = check_features(TRAIN, V, 4, "train")
    rows = np.array([5, 1, 7, 3, 2])
    padded = padded_batch(train, rows, 8)
    assert padded["token_ids"].shape == (8, T)
    assert padded["rows"] == 5
    np.testing.assert_array_equal(padded["weights"].asnumpy(), [1, 1, 1, 1, 1, 0, 0, 0])
    # The same step on the padded batch and on the five rows alone.
    results = []
    for batch in (padded, padded_batch(train, rows, 5)):
        network = make_network(CONFIG, V, seed=0)
        trainer = make_trainer(network, 0.01)
        loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
        results.append((train_step(network, trainer, loss, batch).asscalar(), network))
    (padded_loss, padded_net), (exact_loss, exact_net) = results
    np.testing.assert_allclose(padded_loss, exact_loss, rtol=1e-6)
    for name, value in network_parameters(padded_net).items():
        np.testing.assert_allclose(
            value, network_parameters(exact_net)[name], rtol=1e-5, atol=1e-7
        )
    validation = check_features(VALIDATION, V, 4, "validation")
    assert accuracy(exact_net, validation, batch_size=16) == accuracy(
        exact_net, validation
    )


def test_same_seed_same_model_and_history():
    first_model, first = _train(epochs=2)
    second_model, second = _train(epochs=2)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]
    for name, value in first_model.params.items():
        np.testing.assert_array_equal(value, second_model.params[name])
    third_model, _ = _train(epochs=1, seed=4)
    assert not np.array_equal(
        third_model.params["output.weight"], first_model.params["output.weight"]
    )


def test_restore_best_keeps_the_best_epochs_parameters():
    # All-padding articles read the same state: every row gets the same class, so
    # the accuracy on one article per class is 0.25 at every epoch, a sure plateau.
    plateau = {
        "token_ids": np.zeros((4, T), np.int32),
        "lengths": np.zeros(4, np.int32),
        "labels": np.arange(4, dtype=np.int32),
    }

    def run(**options):
        return train_lstm_classifier(
            TRAIN, plateau, V, CONFIG, OPTIONS.model_copy(update=options)
        )

    best, history = run(epochs=3)
    assert history["validation_accuracy"] == [0.25] * 3
    assert history["best_epoch"] == 1
    after_one, _ = run(epochs=1)
    last, last_history = run(epochs=3, restore_best=False)
    assert last_history["best_epoch"] == 3
    for name, value in best.params.items():
        np.testing.assert_array_equal(value, after_one.params[name])
    assert not np.array_equal(
        best.params["output.weight"], last.params["output.weight"]
    )


def test_bad_inputs_fail_with_a_clear_message():
    with pytest.raises(ValueError, match="built together"):
        _train_with({**TRAIN, "token_ids": TRAIN["token_ids"] + V})
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    with pytest.raises(ValueError, match="must both have rows"):
        train_lstm_classifier(TRAIN, empty, V, CONFIG, OPTIONS)
    with pytest.raises(ValueError, match="labels must lie in 0..3"):
        _train_with({**TRAIN, "labels": TRAIN["labels"] + 1})
    with pytest.raises(ValueError, match="one length per row"):
        _train_with({**TRAIN, "lengths": TRAIN["lengths"][:-1]})


def _train_with(train):
    return train_lstm_classifier(train, VALIDATION, V, CONFIG, OPTIONS)


def test_node_accepts_plain_dicts_and_returns_model_and_history(caplog):
    options = {**OPTIONS.model_dump(), "epochs": 1}
    model = CONFIG.model_dump(mode="json")
    classifier, history = train_model(
        TRAIN,
        VALIDATION,
        VALIDATION,
        VOCABULARY,
        GLOVE,
        model_options=model,
        training_options=options,
        validation_options={},
    )
    assert classifier.backend == "mxnet"
    assert classifier.vocab_size == V
    assert history["validated_on"] == "validation"
    assert history["readout"] == "last_token"
    assert set(history) >= {"epochs", "best_epoch", "train_loss", "validation_accuracy"}
    # The tutorial's flaw on demand: epochs scored (and kept) on the test split.
    all_padding = {**VALIDATION, "token_ids": np.zeros_like(VALIDATION["token_ids"])}
    _, on_test = train_model(
        TRAIN,
        VALIDATION,
        all_padding,
        VOCABULARY,
        GLOVE,
        model_options=model,
        training_options=options,
        validation_options={"split": "test"},
    )
    assert on_test["validated_on"] == "test"
    assert on_test["validation_accuracy"] != history["validation_accuracy"]
    assert "selecting epochs on the test split" in caplog.text
    with pytest.raises(ValueError, match="readout"):
        train_model(
            TRAIN,
            VALIDATION,
            VALIDATION,
            VOCABULARY,
            GLOVE,
            model_options={"readout": "mean"},
            training_options=options,
            validation_options={},
        )


def test_node_refuses_a_vocabulary_gluonnlp_orders_differently():
    # Equal counts: GluonNLP sorts "a" before "b", so ids 1 and 2 would swap.
    swapped = {**VOCABULARY, "tokens": ["<unk>", "b", "a", *VOCABULARY["tokens"][3:]]}
    swapped["counts"] = [0, 5, 5, *VOCABULARY["counts"][3:]]
    with pytest.raises(ValueError, match="orders this vocabulary differently"):
        train_model(
            TRAIN,
            VALIDATION,
            VALIDATION,
            swapped,
            GLOVE,
            model_options=CONFIG,
            training_options=OPTIONS,
            validation_options=ValidationOptions(),
        )


def _shared(feature_set):
    return {
        f"{feature_set}_train_features",
        f"{feature_set}_validation_features",
        f"{feature_set}_test_features",
    }


def test_pipeline_namespaces_and_free_inputs():
    pipeline = create_pipeline()
    assert {node.namespace for node in pipeline.nodes} == {
        f"lstm_mxnet.{approach}" for approach in APPROACHES
    }
    per_approach = {
        f"params:lstm_mxnet.{approach}.{block}"
        for approach in APPROACHES
        for block in (
            "max_tokens", "model", "training", "validation", "reference", "explanation"
        )
    }
    shared = (
        {"word_regex_vocabulary", "word_regex_6b_50d_glove_matrix", "ag_news_test"}
        | _shared("word_regex_25")
        | _shared("word_regex_50")
    )
    assert pipeline.inputs() == shared | per_approach
    lstm_25 = pipeline.only_nodes_with_namespaces(["lstm_mxnet.lstm_25"])
    assert lstm_25.inputs() & (_shared("word_regex_25") | _shared("word_regex_50")) == (
        _shared("word_regex_25")
    )
    for approach in APPROACHES:
        train_node = next(
            node
            for node in pipeline.nodes
            if node.name == f"lstm_mxnet.{approach}.train_model_node"
        )
        assert "word_regex_6b_50d_glove_matrix" in train_node.inputs
        assert {
            f"lstm_mxnet.{approach}.trained_model",
            f"lstm_mxnet.{approach}.training_history",
            f"lstm_mxnet.{approach}.metrics",
            f"lstm_mxnet.{approach}.lime_explanation_html",
        } <= pipeline.all_outputs()


def test_kedro_sees_the_typed_parameters_and_the_yaml_validates():
    types = TypeExtractor(
        {"lstm_mxnet": create_pipeline()}
    ).extract_types_from_pipelines()
    parameters = PROJECT_ROOT / "conf" / "base" / "parameters_lstm_mxnet.yml"
    blocks = yaml.safe_load(parameters.read_text(encoding="utf-8"))["lstm_mxnet"]
    assert set(blocks) == set(APPROACHES)
    references = {
        approach: blocks[approach]["reference"]["test_accuracy"]
        for approach in APPROACHES
    }
    assert references == {
        "lstm_25": 0.8103,
        "lstm_50": 0.8515,
        "bilstm": 0.8402,
        "lstm_3layer": 0.8447,
        "lstm_stacked": 0.8364,
        "bilstm_3layer": 0.8322,
    }
    for approach in APPROACHES:
        assert types[f"lstm_mxnet.{approach}.model"] is LSTMConfig
        assert types[f"lstm_mxnet.{approach}.training"] is TrainingOptions
        assert types[f"lstm_mxnet.{approach}.validation"] is ValidationOptions
        config = LSTMConfig.model_validate(blocks[approach]["model"])
        assert config.readout == "last_token"  # the fix is the default
        project = TrainingOptions.model_validate(blocks[approach]["training"])
        assert project.recipe == "project" and project.embedding_init == "glove"
        assert project.gradient_clip is not None and project.patience is not None
        assert ValidationOptions.model_validate(
            blocks[approach]["validation"]
        ).split == ("validation")


def test_graph_modules_do_not_import_mxnet():
    code = (
        "import sys\n"
        "import agnews_pipeline.datasets\n"
        "import agnews_pipeline.gluon_vocab\n"
        "from agnews_pipeline.pipelines.lstm_mxnet import create_pipeline\n"
        "create_pipeline()\n"
        "loaded = {'mxnet', 'gluonnlp'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _grad_norm(network):
    return float(
        np.sqrt(
            sum(float((g * g).sum().asscalar()) for g in trainable_gradients(network))
        )
    )


def test_gradient_clip_bounds_the_mean_gradient_on_a_huge_loss_batch():
    batch = padded_batch(check_features(TRAIN, V, 4, "train"), np.arange(10), 16)

    def step(clip):
        network = make_network(CONFIG, V, seed=0)
        # Huge, confidently wrong logits: a loss (and gradient) far above the clip.
        output = network.output.weight
        output.set_data(output.data() * 1e3)
        trainer = make_trainer(network, learning_rate=1e-3)
        loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
        total = train_step(network, trainer, loss, batch, gradient_clip=clip)
        # The gradients are still the sums over the 10 real rows step() divided.
        return float(total.asscalar()) / 10, _grad_norm(network) / 10

    loss, unclipped = step(None)
    assert loss > 10 and unclipped > 10
    _, clipped = step(0.5)
    assert clipped <= 0.5 + 1e-4


def test_glove_init_starts_the_embedding_from_the_pca_rows(monkeypatch):
    started = {}
    make = train.make_trainer

    def spy(network, learning_rate):
        started["embedding"] = network.embedding.weight.data().asnumpy()
        return make(network, learning_rate)

    monkeypatch.setattr(train, "make_trainer", spy)
    options = OPTIONS.model_copy(update={"epochs": 1, "embedding_init": "glove"})
    # Narrower than the 6 covered rows, so PCA has the components it needs.
    config = CONFIG.model_copy(update={"embed_dim": 4})
    classifier, _ = train_lstm_classifier(
        TRAIN, VALIDATION, V, config, options, glove_matrix=GLOVE
    )
    # 12-d stand-in GloVe, 4-d embedding: the PCA rows, exactly.
    expected = glove_initial_embedding(GLOVE, 4, OPTIONS.seed)
    np.testing.assert_array_equal(started["embedding"], expected)
    # Still trainable: training moved it.
    assert not np.array_equal(classifier.params["embedding.weight"], expected)
    # embedding_init: random keeps Xavier and leaves the matrix unused.
    train_lstm_classifier(
        TRAIN,
        VALIDATION,
        V,
        config,
        options.model_copy(update={"embedding_init": "random"}),
        glove_matrix=GLOVE,
    )
    assert not np.array_equal(started["embedding"], expected)


def test_glove_init_refuses_a_matrix_of_another_vocabulary():
    options = OPTIONS.model_copy(update={"embedding_init": "glove"})
    with pytest.raises(ValueError, match=f"{V + 3} rows but the vocabulary has {V}"):
        train_lstm_classifier(
            TRAIN, VALIDATION, V, CONFIG, options, glove_matrix=_glove(V + 3)
        )
    with pytest.raises(ValueError, match="no GloVe matrix"):
        train_lstm_classifier(TRAIN, VALIDATION, V, CONFIG, options)
