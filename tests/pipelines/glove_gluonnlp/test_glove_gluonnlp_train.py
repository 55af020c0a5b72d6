"""glove_gluonnlp training: frozen GloVe, determinism, early stopping, node and pipeline."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.validation.type_extractor import TypeExtractor

from agnews_pipeline.approaches import configured_approaches
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.pipelines.glove_gluonnlp import create_pipeline
from agnews_pipeline.pipelines.glove_gluonnlp.models import (
    HEAD_LAYER,
    GloveGluonArchitecture,
    GloveGluonClassifier,
    GloveGluonConfig,
    named_parameters,
)
from agnews_pipeline.pipelines.glove_gluonnlp.nodes import (
    GloveSourceOptions,
    ValidationOptions,
    train_model,
)
from agnews_pipeline.pipelines.glove_gluonnlp.train import (
    TrainingState,
    accuracy,
    init_network,
    make_trainer,
    train_glove_gluon_classifier,
    train_step,
)
from agnews_pipeline.training import TrainingOptions

mx = import_mxnet()

PROJECT_ROOT = Path(__file__).resolve().parents[3]
V, D, T = 9, 4, 6
DENSE = [f"dense{i}.{kind}" for i in range(3) for kind in ("weight", "bias")]

# Approach -> the GloVe matrix it trains on; the GluonNLP stages that build them.
APPROACHES = {
    name: approach.embedding
    for name, approach in configured_approaches()["glove_gluonnlp"].items()
}
EMBEDDINGS = ("word_regex_840b_300d", "word_regex_42b_300d")


def _glove():
    """Tokens 1+2c and 2+2c point along axis c: pooled vectors separate the classes."""
    rng = np.random.default_rng(0)
    matrix = np.zeros((V, D), dtype=np.float32)
    for label in range(4):
        for k, token in enumerate((1 + 2 * label, 2 + 2 * label)):
            matrix[token] = rng.normal(scale=0.1, size=D)
            matrix[token, label] += 1.0 + 0.5 * k
    return matrix


def _features(num_rows, seed):
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


GLOVE = _glove()
TRAIN = _features(96, seed=1)
VALIDATION = _features(40, seed=2)
OPTIONS = TrainingOptions(
    epochs=6, batch_size=16, learning_rate=0.01, seed=3, progress_bar=False
)


def _train(pooling="sum", validation=VALIDATION, **options):
    return train_glove_gluon_classifier(
        TRAIN,
        validation,
        GLOVE,
        GloveGluonConfig(pooling=pooling, hidden_units=(8, 8)),
        OPTIONS.model_copy(update=options),
    )


@pytest.fixture(scope="module", params=["flatten", "mean", "sum"])
def trained(request):
    return request.param, *_train(request.param)


def test_learns_a_separable_toy_set(trained):
    pooling, classifier, history = trained
    assert isinstance(classifier, GloveGluonClassifier)
    assert classifier.architecture.pooling == pooling
    assert (classifier.architecture.vocab_size, classifier.architecture.max_tokens) == (
        V,
        T,
    )
    assert history["epochs"] == OPTIONS.epochs
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["best_validation_accuracy"] >= 0.75
    probabilities = classifier.predict_proba(VALIDATION["token_ids"], None)
    accuracy_now = (probabilities.argmax(1) == VALIDATION["labels"]).mean()
    assert accuracy_now == pytest.approx(history["best_validation_accuracy"])


def test_glove_stays_bit_identical_while_every_dense_leaf_changes(trained):
    pooling, classifier, _ = trained
    arrays = classifier.parameter_arrays()
    assert arrays["embedding.weight"].tobytes() == GLOVE.tobytes()
    architecture = GloveGluonArchitecture(
        pooling=pooling, hidden_units=(8, 8), vocab_size=V, embed_dim=D, max_tokens=T
    )
    initial = named_parameters(init_network(architecture, GLOVE, OPTIONS.seed))
    for name in DENSE:
        assert not np.array_equal(arrays[name], initial[name].data().asnumpy()), name


def test_trainer_holds_only_the_dense_parameters_and_the_matrix_has_no_gradient():
    architecture = GloveGluonArchitecture(
        pooling="mean", hidden_units=(8, 8), vocab_size=V, embed_dim=D, max_tokens=T
    )
    network = init_network(architecture, GLOVE, seed=0)
    trainer = make_trainer(network, learning_rate=0.1)
    parameters = named_parameters(network)
    handed_over = {id(parameter) for parameter in trainer._params}  # noqa: SLF001
    assert handed_over == {id(parameters[name]) for name in DENSE}
    embedding = parameters["embedding.weight"]
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        embedding.grad()
    state = TrainingState(network, trainer)
    before = {name: p.data().asnumpy() for name, p in parameters.items()}
    losses = [
        float(
            train_step(state, TRAIN["token_ids"][:16], TRAIN["labels"][:16]).asscalar()
        )
        for _ in range(3)
    ]
    assert losses[-1] < losses[0]
    assert embedding.data().asnumpy().tobytes() == GLOVE.tobytes()
    for name in DENSE:
        assert not np.array_equal(parameters[name].data().asnumpy(), before[name]), name


def _mean_gradient_norm_after_a_step(gradient_clip):
    """The global L2 norm of the batch-mean head gradient the trainer stepped with."""
    architecture = GloveGluonArchitecture(
        pooling="sum", hidden_units=(8, 8), vocab_size=V, embed_dim=D, max_tokens=T
    )
    network = init_network(architecture, GLOVE, seed=0)
    state = TrainingState(network, make_trainer(network, 0.1), gradient_clip)
    train_step(state, TRAIN["token_ids"][:16], TRAIN["labels"][:16])
    head = network[HEAD_LAYER].collect_params().values()
    gradients = [parameter.grad() for parameter in head]
    # The gradients are sums over the 16 rows; the trainer divides them by 16.
    return float(np.sqrt(sum((g**2).sum().asscalar() for g in gradients))) / 16


def test_gradient_clip_bounds_the_mean_gradient_norm():
    assert _mean_gradient_norm_after_a_step(None) > 0.01
    assert _mean_gradient_norm_after_a_step(0.01) == pytest.approx(0.01, rel=1e-4)


def test_glove_initialisation_is_refused_the_embedding_is_glove_already():
    with pytest.raises(ValueError, match="embedding_init must be 'random'"):
        _train(embedding_init="glove")


def test_accuracy_counts_argmax_hits_over_uneven_batches():
    architecture = GloveGluonArchitecture(
        pooling="sum", hidden_units=(8, 8), vocab_size=V, embed_dim=D, max_tokens=T
    )
    network = init_network(architecture, GLOVE, seed=0)
    logits = network(mx.nd.array(VALIDATION["token_ids"], dtype="int32")).asnumpy()
    expected = (logits.argmax(1) == VALIDATION["labels"]).mean()
    assert accuracy(network, VALIDATION, batch_size=7) == pytest.approx(expected)
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    assert np.isnan(accuracy(network, empty))


def test_same_seed_same_model_and_history():
    first_model, first = _train("flatten", epochs=2)
    second_model, second = _train("flatten", epochs=2)
    assert first["train_loss"] == second["train_loss"]
    assert first["validation_accuracy"] == second["validation_accuracy"]
    first_arrays = first_model.parameter_arrays()
    for name, value in second_model.parameter_arrays().items():
        assert value.tobytes() == first_arrays[name].tobytes(), name
    other, _ = _train("flatten", epochs=1, seed=4)
    assert not np.array_equal(
        other.parameter_arrays()["dense0.weight"], first_arrays["dense0.weight"]
    )


def test_patience_stops_on_a_plateau_and_restore_best_keeps_the_best_epoch():
    # All-padding articles pool to zero vectors: every row gets the same class, so
    # the accuracy on one article per class is 0.25 at every epoch, a sure plateau.
    plateau = {
        "token_ids": np.zeros((4, T), np.int32),
        "lengths": np.zeros(4, np.int32),
        "labels": np.arange(4, dtype=np.int32),
    }
    best, history = _train(validation=plateau, epochs=5, patience=1)
    assert history["epochs"] == 2 and history["stopped_early"]
    assert history["validation_accuracy"] == [0.25, 0.25]
    assert history["best_epoch"] == 1
    last, last_history = _train(
        validation=plateau, epochs=5, patience=1, restore_best=False
    )
    assert last_history["best_epoch"] == 2
    after_one, _ = _train(validation=plateau, epochs=1)
    # The kept epoch-1 snapshot was not touched by the steps of epoch 2.
    kept, one = best.parameter_arrays(), after_one.parameter_arrays()
    for name in DENSE:
        np.testing.assert_array_equal(kept[name], one[name])
    assert not np.array_equal(
        kept["dense0.weight"], last.parameter_arrays()["dense0.weight"]
    )


def test_bad_inputs_fail_with_a_clear_message():
    wrong_vocabulary = {**TRAIN, "token_ids": TRAIN["token_ids"] + V}
    with pytest.raises(ValueError, match="same vocabulary"):
        train_glove_gluon_classifier(
            wrong_vocabulary,
            VALIDATION,
            GLOVE,
            GloveGluonConfig(pooling="sum"),
            OPTIONS,
        )
    empty = {key: value[:0] for key, value in VALIDATION.items()}
    with pytest.raises(ValueError, match="must both have rows"):
        _train(validation=empty)
    narrow = {**VALIDATION, "token_ids": VALIDATION["token_ids"][:, :3]}
    with pytest.raises(ValueError, match="positions per row"):
        _train(validation=narrow)


COVERAGE = {"glove": "toy", "dimension": D, "fallback": False}


def test_train_node_records_the_embedding_and_the_split_it_validated_on(caplog):
    arguments = {
        "train_features": TRAIN,
        "validation_features": VALIDATION,
        "test_features": _features(40, seed=5),
        "embedding_matrix": GLOVE,
        "embedding_coverage": COVERAGE,
        "model_options": {"pooling": "mean", "hidden_units": [8, 8]},
        "training_options": OPTIONS.model_copy(update={"epochs": 2}).model_dump(),
    }
    _, history = train_model(**arguments, validation_options={"split": "validation"})
    assert history["embedding"] == COVERAGE
    assert history["validated_on"] == "validation"
    with caplog.at_level("WARNING"):
        _, on_test = train_model(**arguments, validation_options={"split": "test"})
    assert on_test["validated_on"] == "test"
    assert "test split" in caplog.text
    assert on_test["validation_accuracy"] != history["validation_accuracy"]
    assert on_test["train_loss"] == history["train_loss"]


def test_family_pipeline_namespaces_and_free_inputs():
    pipeline = create_pipeline()
    namespaces = {node.namespace for node in pipeline.nodes}
    assert namespaces == {
        *(f"glove_gluonnlp.{approach}" for approach in APPROACHES),
        *(f"glove_gluonnlp.{embedding}" for embedding in EMBEDDINGS),
    }
    assert set(APPROACHES) == {"flatten_840b", "mean_840b", "sum_840b", "flatten_42b"}
    free = {name for name in pipeline.inputs() if not name.startswith("params:")}
    assert free == {
        "word_regex_vocabulary",
        "word_regex_50_train_features",
        "word_regex_50_validation_features",
        "word_regex_50_test_features",
        "ag_news_test",
        "glove_840b_300d_vectors",
        "glove_42b_300d_vectors",
        "glove_6b_50d_vectors",
    }
    parameters = {name for name in pipeline.inputs() if name.startswith("params:")}
    assert "params:glove_gluonnlp.mean_840b.max_tokens" in parameters
    assert "params:glove_releases.840b_300d" in parameters
    for approach, prefix in APPROACHES.items():
        train = next(
            node
            for node in pipeline.nodes
            if node.name == f"glove_gluonnlp.{approach}.train_model_node"
        )
        assert f"{prefix}_glove_matrix" in train.inputs
        assert f"params:glove_gluonnlp.{approach}.validation" in train.inputs
        assert {
            f"glove_gluonnlp.{approach}.trained_model",
            f"glove_gluonnlp.{approach}.metrics",
            f"glove_gluonnlp.{approach}.lime_explanation_html",
        } <= pipeline.all_outputs()
    assert {
        "word_regex_840b_300d_glove_matrix",
        "word_regex_42b_300d_glove_coverage",
    } <= pipeline.all_outputs()


def test_kedro_sees_the_typed_parameters_and_the_yaml_validates():
    types = TypeExtractor(
        {"glove_gluonnlp": create_pipeline()}
    ).extract_types_from_pipelines()
    parameters = PROJECT_ROOT / "conf" / "base" / "parameters_glove_gluonnlp.yml"
    blocks = yaml.safe_load(parameters.read_text(encoding="utf-8"))["glove_gluonnlp"]
    references = {}
    for approach in APPROACHES:
        assert types[f"glove_gluonnlp.{approach}.model"] is GloveGluonConfig
        assert types[f"glove_gluonnlp.{approach}.training"] is TrainingOptions
        assert types[f"glove_gluonnlp.{approach}.validation"] is ValidationOptions
        config = GloveGluonConfig.model_validate(blocks[approach]["model"])
        assert config.pooling == approach.split("_")[0]
        assert config.hidden_units == (128, 64)
        block = blocks[approach]["training"]
        project = TrainingOptions.model_validate(block)
        assert project.recipe == "project"
        validation = ValidationOptions.model_validate(blocks[approach]["validation"])
        assert validation.split == "validation"
        references[approach] = blocks[approach]["reference"]["test_accuracy"]
    assert references == {
        "flatten_840b": 0.8117,
        "mean_840b": 0.8557,
        "sum_840b": 0.8660,
        "flatten_42b": 0.8403,
    }
    releases = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_glove.yml").read_text(encoding="utf-8")
    )["glove_releases"]
    for release in ("840b_300d", "42b_300d"):
        assert types[f"glove_releases.{release}"] is GloveSourceOptions
        assert GloveSourceOptions.model_validate(releases[release]).fallback


def test_graph_modules_do_not_import_mxnet():
    code = (
        "import sys\n"
        "import agnews_pipeline.datasets\n"
        "from agnews_pipeline.pipelines.glove_gluonnlp import create_pipeline\n"
        "import agnews_pipeline.pipelines.glove_gluonnlp.nodes\n"
        "create_pipeline()\n"
        "heavy = ('mxnet', 'gluonnlp', 'jax', 'torch', 'flax', 'haiku')\n"
        "loaded = set(heavy) & set(sys.modules)\n"
        "assert not loaded, loaded\n"
        "import numpy\n"
        "assert 'bool' not in vars(numpy), 'np.bool restored at import time'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
