"""lstm_mxnet models: shapes per approach, readout positions, classifier protocol."""

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.mxnet_compat import import_mxnet
from agnews_pipeline.pipelines.lstm_mxnet.models import (
    LSTMClassifier,
    LSTMConfig,
    build_network,
    initialize_network,
    network_parameters,
    readout_lengths,
    set_network_parameters,
    to_ndarray,
)

mx = import_mxnet()

PROJECT_ROOT = Path(__file__).resolve().parents[3]
V, T = 11, 5
TOKEN_IDS = np.array([[3, 7, 0, 0, 0], [1, 2, 3, 4, 5], [9, 0, 0, 0, 0]], np.int32)
LENGTHS = np.array([2, 5, 1], np.int32)
SMALL = {"hidden_sizes": [6], "embed_dim": 4, "dense_units": 5}


def _approach_models():
    path = PROJECT_ROOT / "conf" / "base" / "parameters_lstm_mxnet.yml"
    blocks = yaml.safe_load(path.read_text(encoding="utf-8"))["lstm_mxnet"]
    return {approach: block["model"] for approach, block in blocks.items()}


def _network(seed=0, **options):
    network = build_network(LSTMConfig(**{**SMALL, **options}), V)
    initialize_network(network, seed)
    return network


def _logits(network, token_ids, lengths):
    return network(to_ndarray(token_ids), to_ndarray(lengths)).asnumpy()


# Rows of the fused tensors: name of the weight in the fused LSTM of each approach.
EXPECTED_LSTM_WEIGHTS = {
    "lstm_25": {"rnn0.l0_i2h_weight": (300, 40)},
    "lstm_50": {"rnn0.l0_i2h_weight": (300, 40)},
    "bilstm": {
        "forward0.l0_i2h_weight": (300, 40),
        "backward0.l0_h2h_weight": (300, 75),
    },
    "lstm_3layer": {"rnn0.l2_i2h_weight": (300, 75)},
    "lstm_stacked": {
        "rnn0.l0_i2h_weight": (200, 40),
        "rnn1.l0_i2h_weight": (240, 50),
        "rnn2.l0_h2h_weight": (300, 75),
    },
    "bilstm_3layer": {
        "forward2.l0_i2h_weight": (300, 150),
        "backward2.l0_i2h_weight": (300, 150),
    },
}


@pytest.mark.parametrize("approach", sorted(EXPECTED_LSTM_WEIGHTS))
def test_network_shapes_for_every_approach(approach):
    config = LSTMConfig.model_validate(_approach_models()[approach])
    network = build_network(config, V)
    initialize_network(network, 0)
    network.hybridize()
    logits = _logits(network, TOKEN_IDS, LENGTHS)
    assert logits.shape == (3, 4)
    assert logits.dtype == np.float32
    assert np.isfinite(logits).all()
    shapes = {
        name: p.shape for name, p in network._collect_params_with_prefix().items()
    }
    assert shapes["embedding.weight"] == (V, 40)
    for name, shape in EXPECTED_LSTM_WEIGHTS[approach].items():
        assert shapes[_fused_name(name)] == shape, name
    head_inputs = config.output_size
    if config.dense_units is None:
        assert "hidden.weight" not in shapes
        assert shapes["output.weight"] == (4, head_inputs)
    else:
        assert shapes["hidden.weight"] == (100, head_inputs)
        assert shapes["output.weight"] == (4, 100)


def _fused_name(name):
    """``rnn0.l2_i2h_weight`` -> the key save_parameters uses for it."""
    block, _, param = name.partition(".")
    layer, _, rest = param.partition("_")
    return f"{block}._unfused.{int(layer[1:])}.{rest}"


def test_lstm_unidirectional_last_token_reads_each_rows_last_real_token():
    network = _network(hidden_sizes=[6, 7], num_layers=2)
    padded = _logits(network, TOKEN_IDS, LENGTHS)
    for row, length in enumerate(LENGTHS):
        unpadded = TOKEN_IDS[row : row + 1, :length]
        alone = _logits(network, unpadded, [length])
        np.testing.assert_allclose(padded[row], alone[0], rtol=1e-5, atol=1e-6)
    # Short rows were read before their padding: not what output[:, -1] gives.
    tutorial = _network(hidden_sizes=[6, 7], num_layers=2, readout="last_position")
    set_network_parameters(tutorial, network_parameters(network))
    at_end = _logits(tutorial, TOKEN_IDS, LENGTHS)
    np.testing.assert_allclose(at_end[1], padded[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(at_end[0], padded[0])
    assert not np.allclose(at_end[2], padded[2])
    # One direction: its last token is the last real token either way.
    same = _network(hidden_sizes=[6, 7], num_layers=2, readout="last_token_position")
    set_network_parameters(same, network_parameters(network))
    np.testing.assert_array_equal(_logits(same, TOKEN_IDS, LENGTHS), padded)


def test_lstm_last_position_reads_after_the_padding_whatever_the_lengths():
    network = _network(readout="last_position")
    np.testing.assert_array_equal(
        _logits(network, TOKEN_IDS, LENGTHS), _logits(network, TOKEN_IDS, [5, 5, 5])
    )


def _fused_bidirectional(network, num_layers):
    """A gluon bidirectional LSTM holding the network's forward/backward weights."""
    fused = mx.gluon.rnn.LSTM(
        6, num_layers=num_layers, layout="NTC", bidirectional=True, input_size=4
    )
    fused.initialize()
    for layer in range(num_layers):
        for direction, prefix in (("forward", "l"), ("backward", "r")):
            source = getattr(network, f"{direction}{layer}")
            for param in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"):
                value = getattr(source, f"l0_{param}").data()
                getattr(fused, f"{prefix}{layer}_{param}").set_data(value)
    return fused


def _head(network, features):
    return network.output(network.hidden(to_ndarray(features))).asnumpy()


@pytest.mark.parametrize(
    "readout", ["last_token", "last_token_position", "last_position"]
)
def test_bidirectional_readouts_match_a_fused_bidirectional_lstm(readout):
    network = _network(bidirectional=True, num_layers=2, readout=readout)
    fused = _fused_bidirectional(network, num_layers=2)
    padded = _logits(network, TOKEN_IDS, LENGTHS)
    for row, length in enumerate(LENGTHS):
        if readout == "last_position":
            # The tutorial: the fused LSTM over the padded row, read at the end,
            # where its backward half has seen nothing but the last padding token.
            outputs = fused(network.embedding(to_ndarray(TOKEN_IDS[row : row + 1])))
            features = outputs[:, -1].asnumpy()
        else:
            # The fix: the fused LSTM over the unpadded article, so the backward
            # direction starts at the last real token. `last_token` reads it where
            # it ends, at the first token; `last_token_position` where it starts.
            unpadded = to_ndarray(TOKEN_IDS[row : row + 1, :length])
            outputs = fused(network.embedding(unpadded)).asnumpy()
            forward_half = outputs[:, length - 1, :6]
            backward_at = 0 if readout == "last_token" else length - 1
            backward_half = outputs[:, backward_at, 6:]
            features = np.concatenate([forward_half, backward_half], axis=1)
        np.testing.assert_allclose(
            padded[row], _head(network, features)[0], rtol=1e-5, atol=1e-6
        )


def test_bidirectional_readouts_agree_only_where_they_should():
    networks = {"last_token": _network(bidirectional=True)}
    for readout in ("last_position", "last_token_position"):
        networks[readout] = _network(bidirectional=True, readout=readout)
        set_network_parameters(
            networks[readout], network_parameters(networks["last_token"])
        )
    logits = {r: _logits(n, TOKEN_IDS, LENGTHS) for r, n in networks.items()}
    # Without padding (row 1) the tutorial's output[:, -1] is output[:, length - 1].
    np.testing.assert_allclose(
        logits["last_position"][1], logits["last_token_position"][1], rtol=1e-5
    )
    assert not np.allclose(logits["last_position"][0], logits["last_token_position"][0])
    # The backward half read at the first token, not the last, differs even then.
    for readout in ("last_position", "last_token_position"):
        assert not np.allclose(logits["last_token"][1], logits[readout][1])


def test_readout_lengths_clamp_to_the_sequence():
    np.testing.assert_array_equal(
        readout_lengths(np.array([0, 1, 3, 9]), 5), np.float32([1, 1, 3, 5])
    )
    assert readout_lengths(np.array([2]), 5).dtype == np.float32


def test_config_validation():
    assert LSTMConfig().model_dump(mode="json") == {
        "hidden_sizes": [75],
        "num_layers": 1,
        "bidirectional": False,
        "embed_dim": 40,
        "dense_units": 100,
        "readout": "last_token",
        "num_classes": 4,
    }
    assert LSTMConfig(hidden_sizes=[50, 60, 75], bidirectional=True).output_size == 150
    with pytest.raises(ValidationError, match="readout"):
        LSTMConfig(readout="mean")
    with pytest.raises(ValidationError, match="hidden_sizes"):
        LSTMConfig(hidden_sizes=[])
    with pytest.raises(ValidationError, match="hidden_sizes must be positive"):
        LSTMConfig(hidden_sizes=[75, 0])
    with pytest.raises(ValidationError, match="extra"):
        LSTMConfig(dropout=0.1)


@pytest.fixture(scope="module")
def classifier():
    network = _network(bidirectional=True)
    return LSTMClassifier(
        config={**SMALL, "bidirectional": True}, params=network_parameters(network)
    )


def test_classifier_implements_the_protocol(classifier):
    assert isinstance(classifier, TokenClassifier)
    assert (classifier.backend, classifier.kind) == ("mxnet", "lstm_mxnet")
    assert isinstance(classifier.config, LSTMConfig)  # a dict is validated
    assert classifier.vocab_size == V
    probabilities = classifier.predict_proba(TOKEN_IDS, LENGTHS)
    assert probabilities.shape == (3, 4)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    network = _network(bidirectional=True)
    set_network_parameters(network, classifier.params)
    logits = _logits(network, TOKEN_IDS, LENGTHS)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)


def test_rows_without_tokens_get_finite_probabilities(classifier):
    empty = np.zeros((2, T), np.int32)
    probabilities = classifier.predict_proba(empty, np.zeros(2, np.int32))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    # Read at position 0, as a one-token row of <unk>.
    np.testing.assert_array_equal(
        probabilities, classifier.predict_proba(empty, np.ones(2, np.int32))
    )


def test_classifier_batches_without_changing_results(classifier):
    ids = np.random.default_rng(1).integers(0, V, size=(11, T)).astype(np.int32)
    lengths = np.random.default_rng(2).integers(0, T + 1, size=11).astype(np.int32)
    whole = classifier.predict_proba(ids, lengths)
    chunked = copy.copy(classifier)
    chunked.max_batch_size = 4
    np.testing.assert_allclose(chunked.predict_proba(ids, lengths), whole, rtol=1e-6)
    np.testing.assert_allclose(
        predict_in_batches(classifier, ids, lengths, batch_size=5), whole, rtol=1e-6
    )
    assert classifier.predict_proba(ids[:0], lengths[:0]).shape == (0, 4)


def test_classifier_copies_and_pickles_after_predicting(classifier):
    expected = classifier.predict_proba(TOKEN_IDS, LENGTHS)
    for clone in (copy.deepcopy(classifier), pickle.loads(pickle.dumps(classifier))):
        assert clone._network is None
        np.testing.assert_array_equal(clone.predict_proba(TOKEN_IDS, LENGTHS), expected)


def test_parameters_that_do_not_fit_are_refused():
    network = _network()
    params = network_parameters(network)
    with pytest.raises(ValueError, match="missing.*output.bias"):
        set_network_parameters(
            network, {k: v for k, v in params.items() if k != "output.bias"}
        )
    with pytest.raises(ValueError, match="has shape"):
        set_network_parameters(network, {**params, "output.bias": np.zeros(7)})


def test_parameter_summary_counts_every_weight_as_trained(classifier):
    # Embedding(V, 4) -> BiLSTM(6): per direction 4 gates x 6 x (4 + 6 + 2 biases),
    # then Dense(12 -> 5) -> Dense(5 -> 4).
    lstm = 2 * 4 * 6 * (4 + 6 + 2)
    expected = V * 4 + lstm + (12 * 5 + 5) + (5 * 4 + 4)
    assert classifier.parameter_summary() == {
        "parameters": expected,
        "trainable_parameters": expected,
        "embedding_dimension": 4,
        "embedding_trainable": True,
    }
