"""rnn_torch models: shapes per approach, the last-real-token readout, initial hidden."""

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from pydantic import ValidationError
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from agnews_pipeline.classifier import TokenClassifier, predict_in_batches
from agnews_pipeline.pipelines.rnn_torch.models import (
    RNNClassifier,
    RNNTorchConfig,
    as_index_tensors,
    bidirectional_outputs,
    build_network,
    network_logits,
    reversal_index,
    sequence_features,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PARAMETERS = yaml.safe_load(
    (PROJECT_ROOT / "conf/base/parameters_rnn_torch.yml").read_text(encoding="utf-8")
)["rnn_torch"]
V, T = 11, 6

# approach -> (hidden size of each nn.RNN module, layers, bidirectional, nonlinearity)
EXPECTED = {
    "rnn_25": ([50], 1, False, "tanh"),
    "rnn_50": ([50], 1, False, "relu"),
    "rnn_3layer": ([50], 3, False, "tanh"),
    "rnn_stacked": ([50, 60, 75], 1, False, "tanh"),
    "birnn_3layer": ([50], 3, True, "tanh"),
}


def approach_config(approach, **update):
    """The approach's `model` block from the YAML, optionally altered."""
    return RNNTorchConfig.model_validate({**PARAMETERS[approach]["model"], **update})


def _tensors(token_ids, lengths):
    return as_index_tensors(np.asarray(token_ids), np.asarray(lengths))


@pytest.fixture
def batch():
    token_ids = np.array(
        [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9], [10, 0, 0, 0, 0, 0], [0] * T],
        dtype=np.int32,
    )
    return token_ids, np.array([3, 6, 1, 0], dtype=np.int32)


def test_the_yaml_covers_exactly_the_five_approaches():
    assert set(PARAMETERS) == set(EXPECTED)


@pytest.mark.parametrize("approach", sorted(EXPECTED))
def test_network_shapes_per_approach(approach, batch):
    hidden_sizes, layers, bidirectional, nonlinearity = EXPECTED[approach]
    config = approach_config(approach)
    assert config.readout == "last_token" and config.initial_hidden == "zeros"
    torch.manual_seed(0)
    network = build_network(config, V)
    directions = 2 if bidirectional else 1
    assert network["embedding"].weight.shape == (V, 50)
    assert len(network["rnns"]) == len(hidden_sizes)
    input_size = 50
    for rnn, hidden in zip(network["rnns"], hidden_sizes, strict=True):
        assert (rnn.input_size, rnn.hidden_size) == (input_size, hidden)
        assert (rnn.num_layers, rnn.bidirectional) == (layers, bidirectional)
        assert rnn.nonlinearity == nonlinearity and rnn.batch_first
        assert rnn.weight_ih_l0.shape == (hidden, input_size)
        assert hasattr(rnn, "weight_hh_l0_reverse") == bidirectional
        assert hasattr(rnn, f"weight_ih_l{layers - 1}")
        input_size = hidden * directions
    assert network["classifier"].weight.shape == (4, hidden_sizes[-1] * directions)
    assert config.feature_size == hidden_sizes[-1] * directions
    token_ids, lengths = _tensors(*batch)
    features = sequence_features(network, config, token_ids, lengths)
    assert features.shape == (4, config.feature_size)
    logits = network_logits(network, config, token_ids, lengths)
    assert logits.shape == (4, 4) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()


def _hand_built(config):
    """Embedding row k = k/10 * (1, -1, 2); every direction W_ih = I, W_hh = 0.5 I."""
    network = build_network(config, V)
    with torch.no_grad():
        network["embedding"].weight.copy_(
            torch.arange(V, dtype=torch.float32)[:, None]
            / 10
            * torch.tensor([1.0, -1.0, 2.0])
        )
        for name, parameter in network["rnns"][0].named_parameters():
            if name.startswith("weight_ih"):
                parameter.copy_(torch.eye(3))
            elif name.startswith("weight_hh"):
                parameter.copy_(0.5 * torch.eye(3))
            else:
                parameter.zero_()
    return network


def _reference_run(ids):
    """h_t = tanh(e(x_t) + 0.5 h_{t-1}) from h = 0 over ``ids``; the final state."""
    state = np.zeros(3)
    for token in ids:
        state = np.tanh(token / 10 * np.array([1.0, -1.0, 2.0]) + 0.5 * state)
    return state


def test_unidirectional_readout_picks_the_last_real_token(batch):
    token_ids, lengths = batch
    tensors = _tensors(token_ids, lengths)
    fixed = RNNTorchConfig(embed_dim=3, hidden_sizes=(3,))
    tutorial = fixed.model_copy(update={"readout": "last_position"})
    network = _hand_built(fixed)
    with torch.no_grad():
        last_token = sequence_features(network, fixed, *tensors).numpy()
        last_position = sequence_features(network, tutorial, *tensors).numpy()
    for row, (ids, length) in enumerate(zip(token_ids, lengths, strict=True)):
        # An empty row is read at position 0, after its one pad token.
        expected = _reference_run(ids[: max(length, 1)])
        np.testing.assert_allclose(last_token[row], expected, rtol=1e-5, atol=1e-6)
        # The tutorial runs on through the padding (row 0's embedding is zero, but
        # the recurrence keeps shrinking the state).
        np.testing.assert_allclose(
            last_position[row], _reference_run(ids), rtol=1e-5, atol=1e-6
        )
    assert not np.allclose(last_token[0], last_position[0])
    np.testing.assert_allclose(last_token[1], last_position[1], rtol=1e-6)


def test_bidirectional_readout_runs_the_backward_pass_from_the_last_real_token(batch):
    token_ids, lengths = batch
    tensors = _tensors(token_ids, lengths)
    fixed = RNNTorchConfig(embed_dim=3, hidden_sizes=(3,), bidirectional=True)
    tutorial = fixed.model_copy(update={"readout": "last_position"})
    network = _hand_built(fixed)
    with torch.no_grad():
        last_token = sequence_features(network, fixed, *tensors).numpy()
        last_position = sequence_features(network, tutorial, *tensors).numpy()
    assert last_token.shape == (4, 6)
    for row, (ids, length) in enumerate(zip(token_ids, lengths, strict=True)):
        real = ids[: max(length, 1)]
        # Both halves have read the whole article and nothing else: the backward
        # pass starts at the last real token, not T - length padding steps later.
        expected = np.concatenate([_reference_run(real), _reference_run(real[::-1])])
        np.testing.assert_allclose(last_token[row], expected, rtol=1e-5, atol=1e-6)
        # The tutorial's output[:, -1]: forward through the padding, backward after
        # one (padding) step.
        expected = np.concatenate([_reference_run(ids), _reference_run(ids[-1:])])
        np.testing.assert_allclose(last_position[row], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("random_start", [False, True])
def test_bidirectional_outputs_equal_a_packed_run_with_the_same_gradients(
    nonlinearity, random_start
):
    """Each row's backward pass within its length: packing's outputs, without packing."""
    torch.manual_seed(4)
    rnn = torch.nn.RNN(
        5, 4, 3, nonlinearity=nonlinearity, batch_first=True, bidirectional=True
    )
    inputs = torch.randn(5, 7, 5, requires_grad=True)
    lengths = torch.tensor([7, 1, 4, 6, 2])
    hidden = torch.randn(6, 5, 4) if random_start else None
    real = (torch.arange(7) < lengths[:, None]).unsqueeze(2)

    packed, _ = rnn(
        pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False),
        hidden,
    )
    expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=7)
    outputs = bidirectional_outputs(rnn, inputs, hidden, reversal_index(lengths, 7))

    assert outputs.shape == (5, 7, 8)
    torch.testing.assert_close(outputs * real, expected * real, rtol=1e-5, atol=1e-6)
    parameters = [inputs, *rnn.parameters()]
    expected_gradients = torch.autograd.grad(
        (expected * real).square().sum(), parameters
    )
    gradients = torch.autograd.grad((outputs * real).square().sum(), parameters)
    for gradient, expected_gradient in zip(gradients, expected_gradients, strict=True):
        torch.testing.assert_close(gradient, expected_gradient, rtol=1e-4, atol=1e-5)


def test_reversal_index_reverses_each_row_within_its_length():
    index = reversal_index(torch.tensor([3, 1, 4]), 4).reshape(3, 4) % 4
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]


@pytest.mark.parametrize("approach", sorted(EXPECTED))
def test_last_token_readout_ignores_the_padding(approach):
    """Cutting the padding off, or changing the ids in it, changes nothing."""
    config = approach_config(approach)
    torch.manual_seed(1)
    network = build_network(config, V).eval()
    rng = np.random.default_rng(2)
    token_ids = rng.integers(1, V, size=(3, T)).astype(np.int32)
    lengths = np.array([2, 5, T], dtype=np.int32)
    token_ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    noisy = token_ids.copy()  # other ids in the padding: must not matter either
    noisy[np.arange(T)[None, :] >= lengths[:, None]] = 7
    with torch.no_grad():
        padded = sequence_features(network, config, *_tensors(token_ids, lengths))
        padded_noisy = sequence_features(network, config, *_tensors(noisy, lengths))
        for row, length in enumerate(lengths):
            alone = sequence_features(
                network, config, *_tensors(token_ids[row : row + 1, :length], [length])
            )
            torch.testing.assert_close(padded[row], alone[0], rtol=1e-5, atol=1e-6)
        tutorial = config.model_copy(update={"readout": "last_position"})
        tutorial_noisy = sequence_features(network, tutorial, *_tensors(noisy, lengths))
        tutorial_padded = sequence_features(
            network, tutorial, *_tensors(token_ids, lengths)
        )
    torch.testing.assert_close(padded, padded_noisy, rtol=1e-5, atol=1e-6)
    # The full row (length T) reads the same either way when unidirectional.
    if not config.bidirectional:
        torch.testing.assert_close(padded[2], tutorial_padded[2], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(tutorial_padded[0], tutorial_noisy[0])


def _classifier(approach="rnn_stacked", **update):
    config = approach_config(approach, **update)
    torch.manual_seed(3)
    return RNNClassifier(config=config.model_dump(), network=build_network(config, V))


def test_zero_initial_hidden_predicts_the_same_twice_random_does_not(batch):
    fixed = _classifier("birnn_3layer")
    assert isinstance(fixed.config, RNNTorchConfig)  # a dict is validated
    np.testing.assert_array_equal(
        fixed.predict_proba(*batch), fixed.predict_proba(*batch)
    )
    tutorial = _classifier(
        "birnn_3layer", initial_hidden="random", readout="last_position"
    )
    first, second = tutorial.predict_proba(*batch), tutorial.predict_proba(*batch)
    assert np.isfinite(first).all()
    assert not np.array_equal(first, second)


def test_classifier_implements_the_protocol(batch):
    classifier = _classifier()
    assert isinstance(classifier, TokenClassifier)
    assert classifier.backend == "torch"
    assert classifier.vocab_size == V
    assert not classifier.network.training
    probabilities = classifier.predict_proba(*batch)
    assert probabilities.shape == (4, 4) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    with torch.no_grad():
        logits = network_logits(
            classifier.network, classifier.config, *_tensors(*batch)
        )
    np.testing.assert_allclose(
        probabilities, torch.softmax(logits, -1).numpy(), rtol=1e-6
    )
    assert classifier.predict_proba(batch[0][:0], batch[1][:0]).shape == (0, 4)


def test_empty_and_overlong_lengths_give_finite_probabilities():
    classifier = _classifier("birnn_3layer")
    token_ids = np.zeros((3, T), dtype=np.int32)
    probabilities = classifier.predict_proba(token_ids, np.array([0, -2, T + 4]))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    # lengths=None: every position is real.
    np.testing.assert_array_equal(
        classifier.predict_proba(token_ids, None),
        classifier.predict_proba(token_ids, [T] * 3),
    )


def test_batching_copying_and_pickling_leave_predictions_unchanged():
    classifier = _classifier("rnn_50")
    rng = np.random.default_rng(4)
    ids = rng.integers(0, V, size=(11, T)).astype(np.int32)
    lengths = rng.integers(0, T + 1, size=11).astype(np.int32)
    whole = classifier.predict_proba(ids, lengths)
    classifier.max_batch_size = 4
    np.testing.assert_allclose(classifier.predict_proba(ids, lengths), whole, rtol=1e-6)
    np.testing.assert_allclose(
        predict_in_batches(classifier, ids, lengths, batch_size=5), whole, rtol=1e-6
    )
    for clone in (copy.deepcopy(classifier), pickle.loads(pickle.dumps(classifier))):
        # The weights survive bit for bit; the predictions to float32 rounding, since
        # BLAS may pick another kernel for the copy's memory alignment.
        for name, weight in classifier.network.state_dict().items():
            assert torch.equal(clone.network.state_dict()[name], weight), name
        np.testing.assert_allclose(clone.predict_proba(ids, lengths), whole, rtol=1e-6)


def test_from_state_dict_rebuilds_exactly_and_rejects_mismatches(batch):
    classifier = _classifier("rnn_3layer")
    state_dict = classifier.network.state_dict()
    rebuilt = RNNClassifier.from_state_dict(classifier.config.model_dump(), state_dict)
    np.testing.assert_array_equal(
        rebuilt.predict_proba(*batch), classifier.predict_proba(*batch)
    )
    with pytest.raises(RuntimeError, match="size mismatch|Missing key"):
        RNNClassifier.from_state_dict(approach_config("rnn_stacked"), state_dict)
    with pytest.raises(ValueError, match="embedding.weight"):
        RNNClassifier.from_state_dict(classifier.config, {})


def test_config_validation():
    assert RNNTorchConfig().model_dump() == {
        "embed_dim": 50,
        "hidden_sizes": (50,),
        "num_layers": 1,
        "nonlinearity": "tanh",
        "bidirectional": False,
        "num_classes": 4,
        "readout": "last_token",
        "initial_hidden": "zeros",
    }
    assert RNNTorchConfig(hidden_sizes=[50, 60, 75]).hidden_sizes == (50, 60, 75)
    with pytest.raises(ValidationError, match="readout"):
        RNNTorchConfig(readout="output[:, -1]")
    with pytest.raises(ValidationError, match="initial_hidden"):
        RNNTorchConfig(initial_hidden="randn")
    with pytest.raises(ValidationError, match="hidden_sizes"):
        RNNTorchConfig(hidden_sizes=[])
    with pytest.raises(ValidationError, match="nonlinearity"):
        RNNTorchConfig(nonlinearity="gelu")
    with pytest.raises(ValidationError, match="extra"):
        RNNTorchConfig(dropout=0.1)


def test_parameter_summary_counts_every_weight_as_trained():
    # rnn_stacked: Embedding(V, 50) -> RNN(50->50) -> RNN(50->60) -> RNN(60->75)
    # -> Linear(75 -> 4); an RNN layer has W_ih, W_hh and two bias vectors.
    rnns = sum(
        hidden * (inputs + hidden + 2)
        for inputs, hidden in ((50, 50), (50, 60), (60, 75))
    )
    expected = V * 50 + rnns + (75 * 4 + 4)
    assert _classifier("rnn_stacked").parameter_summary() == {
        "parameters": expected,
        "trainable_parameters": expected,
        "embedding_dimension": 50,
        "embedding_trainable": True,
    }
