"""Embedding -> LSTM(s) -> readout -> dense head: the Gluon network, its trained form.

Section 3 of the approaches: ``nn.Embedding(V, 40)`` (trainable, Xavier-initialised
like every other weight), fused ``gluon.rnn.LSTM`` layers in layout ``'NTC'``, one
vector per article read from the LSTM outputs, an optional ``Dense(100, relu)`` and
``Dense(4)``.

The readout fixes the tutorial's flaw by default. Sequences are post-padded with
``<unk>`` (id 0), so ``output[:, -1]``, the tutorial's readout, is the state after
reading the padding. ``readout="last_token"`` reads every direction where it finished
reading the article: the forward direction at the last real token, the backward
direction (which reads right to left) at the first. MXNet 1.9.1's fused CPU LSTM
ignores ``use_sequence_length`` (checked: its backward direction still starts in the
padding), so a bidirectional layer is built from two unidirectional fused LSTMs, the
backward one reading each row reversed within its own length (``SequenceReverse``);
its parameters equal those of one bidirectional ``gluon.rnn.LSTM``.

MXNet is imported inside the functions that need it (through
:mod:`agnews_pipeline.mxnet_compat`), so the node module, and with it
``kedro viz build``, imports this configuration without loading MXNet.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import summarize_parameters
from agnews_pipeline.mxnet_compat import import_mxnet

if TYPE_CHECKING:
    from mxnet.gluon import HybridBlock

Readout = Literal["last_token", "last_position", "last_token_position"]

# The key under which MXNetModelDataset finds this family's loader.
MODEL_KIND = "lstm_mxnet"

# Structural name (``Block.save_parameters``) of the embedding matrix.
EMBEDDING_PARAM = "embedding.weight"


class LSTMConfig(BaseModel):
    """The ``model`` parameter block of one ``lstm_mxnet`` approach.

    Attributes:
        hidden_sizes: One fused LSTM per entry, stacked in order (``[50, 60, 75]``
            is the tutorial's ``lstm_stacked``).
        num_layers: Layers inside each fused LSTM (``LSTM(75, num_layers=3)``).
        bidirectional: Run every layer in both directions (outputs concatenated).
        embed_dim: Width of the trainable embedding.
        dense_units: Width of the ``relu`` layer before the output layer, or
            ``None`` for none (``lstm_25``).
        readout: Which LSTM output represents an article. ``last_token`` (the
            default): each direction where it has read the whole article, the
            forward one at the last real token, the backward one at the first.
            ``last_position``: ``output[:, -1]``, after the padding, as the
            tutorial did. ``last_token_position``: ``output[:, length - 1]``, the
            tutorial's readout without the padding; a bidirectional LSTM's
            backward half has then read one token. Unidirectional LSTMs read the
            same for ``last_token`` and ``last_token_position``.
        num_classes: Width of the output layer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_sizes: tuple[int, ...] = Field((75,), min_length=1)
    num_layers: int = Field(1, ge=1)
    bidirectional: bool = False
    embed_dim: int = Field(40, ge=1)
    dense_units: int | None = Field(100, ge=1)
    readout: Readout = "last_token"
    num_classes: int = Field(4, ge=2)

    def model_post_init(self, context: Any) -> None:
        """Reject non-positive hidden sizes, which pydantic's tuple check lets pass."""
        if any(size < 1 for size in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes}")

    @property
    def output_size(self) -> int:
        """Width of the readout vector."""
        return self.hidden_sizes[-1] * (2 if self.bidirectional else 1)


def readout_lengths(lengths: np.ndarray, max_tokens: int) -> np.ndarray:
    """Lengths the network may read at: float32, clipped to ``1..max_tokens``.

    Rows without a known token (length 0, e.g. LIME removed every word) are read at
    position 0, the padding, so they still get finite probabilities.
    """
    return np.clip(np.asarray(lengths), 1, max_tokens).astype(np.float32)


def to_ndarray(array: Any) -> Any:
    """Copy an array to a float32 MXNet ``NDArray`` (exact for ids below 2**24)."""
    mx = import_mxnet()
    # from_numpy, unlike nd.array, skips a SciPy sparse check that warns on every call.
    return mx.nd.from_numpy(
        np.ascontiguousarray(array, dtype=np.float32), zero_copy=False
    )


def reverse_within_lengths(F: Any, sequences: Any, lengths: Any) -> Any:
    """Reverse the first ``lengths[n]`` steps of each ``(N, T, C)`` row; pads stay."""
    time_major = F.swapaxes(sequences, 0, 1)  # SequenceReverse only reverses axis 0
    reversed_ = F.SequenceReverse(time_major, lengths, use_sequence_length=True)
    return F.swapaxes(reversed_, 0, 1)


def at_position(F: Any, sequences: Any, position: int) -> Any:
    """``sequences[:, position]`` of an ``(N, T, C)`` array, as ``(N, C)``."""
    end = None if position == -1 else position + 1
    return F.squeeze(F.slice_axis(sequences, axis=1, begin=position, end=end), axis=1)


def at_last_token(F: Any, sequences: Any, lengths: Any) -> Any:
    """``sequences[n, lengths[n] - 1]`` for every row ``n``, as ``(N, C)``."""
    return F.SequenceLast(sequences, lengths, use_sequence_length=True, axis=1)


@functools.cache
def _network_class() -> type:
    """Define the Gluon block on first use: importing this module needs no MXNet."""
    mx = import_mxnet()
    gluon, nn = mx.gluon, mx.gluon.nn

    class LSTMNetwork(gluon.HybridBlock):
        """``(token_ids (N, T), lengths (N,)) -> logits (N, num_classes)``.

        Child blocks (their structural names are the saved parameter names):
        ``embedding``; ``rnn<i>`` (unidirectional: one fused LSTM per hidden size)
        or ``forward<i>`` / ``backward<i>`` (bidirectional: one pair per layer);
        ``hidden`` (when ``dense_units`` is set); ``output``.
        """

        def __init__(self, config: LSTMConfig, vocab_size: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.config = config
            self._directions: list[tuple[Any, Any]] = []
            self._stack: list[Any] = []
            with self.name_scope():
                self.embedding = nn.Embedding(vocab_size, config.embed_dim)
                width = config.embed_dim
                if config.bidirectional:
                    sizes = [
                        s for s in config.hidden_sizes for _ in range(config.num_layers)
                    ]
                    for index, size in enumerate(sizes):
                        pair = (
                            self._lstm(size, 1, width, f"forward{index}"),
                            self._lstm(size, 1, width, f"backward{index}"),
                        )
                        self._directions.append(pair)
                        width = 2 * size
                else:
                    for index, size in enumerate(config.hidden_sizes):
                        self._stack.append(
                            self._lstm(size, config.num_layers, width, f"rnn{index}")
                        )
                        width = size
                if config.dense_units is not None:
                    self.hidden = nn.Dense(
                        config.dense_units, activation="relu", in_units=width
                    )
                    width = config.dense_units
                else:
                    self.hidden = None
                self.output = nn.Dense(config.num_classes, in_units=width)

        def _lstm(self, size: int, layers: int, width: int, name: str) -> Any:
            lstm = gluon.rnn.LSTM(
                size, num_layers=layers, layout="NTC", input_size=width
            )
            setattr(self, name, lstm)  # registers the child under a stable name
            return lstm

        def forward(self, token_ids: Any, lengths: Any) -> Any:
            with warnings.catch_warnings():
                # output[:, -1] leaves `lengths` unused, which Gluon warns about
                # whenever it builds the graph.
                warnings.filterwarnings(
                    "ignore", "The 1-th input to HybridBlock is not used", UserWarning
                )
                return super().forward(token_ids, lengths)

        def hybrid_forward(self, F: Any, token_ids: Any, lengths: Any) -> Any:
            sequences = self.embedding(token_ids)
            readout = self.config.readout
            if not self._directions:
                for lstm in self._stack:
                    sequences = lstm(sequences)
                if readout == "last_position":
                    features = at_position(F, sequences, -1)
                else:
                    features = at_last_token(F, sequences, lengths)
            else:
                features = self._bidirectional(F, sequences, lengths, readout)
            if self.hidden is not None:
                features = self.hidden(features)
            return self.output(features)

        def _bidirectional(
            self, F: Any, sequences: Any, lengths: Any, readout: str
        ) -> Any:
            # The tutorial's fused bidirectional LSTM reverses the padded rows whole,
            # so its backward direction starts in the padding; `last_position` keeps
            # that, the other readouts reverse each row within its length.
            whole = readout == "last_position"

            def flip(x: Any) -> Any:
                return (
                    F.reverse(x, axis=1)
                    if whole
                    else reverse_within_lengths(F, x, lengths)
                )

            for forward, backward in self._directions:
                ahead = forward(sequences)
                behind_reversed = backward(flip(sequences))
                # Stacking on a new axis lays the halves out as concat(dim=2) would,
                # but MXNet's CPU stack is several times faster than its concat.
                sequences = F.reshape(
                    F.stack(ahead, flip(behind_reversed), axis=2), shape=(0, 0, -1)
                )
            if readout == "last_position":
                return at_position(F, sequences, -1)
            if readout == "last_token_position":
                return at_last_token(F, sequences, lengths)
            # last_token: in reversed order the backward LSTM ends at the row's last
            # step, which is the article's first token.
            return F.concat(
                at_last_token(F, ahead, lengths),
                at_last_token(F, behind_reversed, lengths),
                dim=1,
            )

    return LSTMNetwork


def build_network(config: LSTMConfig, vocab_size: int) -> HybridBlock:
    """Return an uninitialised, un-hybridised ``LSTMNetwork`` for ``vocab_size`` ids."""
    return _network_class()(config, vocab_size)


def initialize_network(network: HybridBlock, seed: int) -> None:
    """Xavier-initialise every weight (biases zero) from ``mx.random.seed(seed)``."""
    mx = import_mxnet()
    mx.random.seed(seed)
    network.initialize(mx.init.Xavier(), ctx=mx.cpu())


def network_parameters(network: HybridBlock) -> dict[str, np.ndarray]:
    """Copy the parameters to host arrays, keyed like ``save_parameters`` keys them."""
    # Gluon's own save_parameters/load_parameters key by this structural prefix
    # (e.g. "rnn0.l0_i2h_weight"), unlike collect_params(), whose names carry
    # per-process instance counters.
    return {
        name: param.data().asnumpy()
        for name, param in network._collect_params_with_prefix().items()
    }


def set_network_parameters(network: HybridBlock, params: dict[str, np.ndarray]) -> None:
    """Load host arrays keyed as by :func:`network_parameters` into a network."""
    targets = network._collect_params_with_prefix()
    if set(targets) != set(params):
        raise ValueError(
            "parameters do not fit the network: missing "
            f"{sorted(set(targets) - set(params))}, unexpected "
            f"{sorted(set(params) - set(targets))}"
        )
    for name, param in targets.items():
        value = np.asarray(params[name], dtype=np.float32)
        if value.shape != param.shape:
            raise ValueError(
                f"parameter {name!r} has shape {value.shape}, the network expects "
                f"{param.shape}"
            )
        param.set_data(to_ndarray(value))


@dataclass(eq=False)
class LSTMClassifier:
    """A trained ``lstm_mxnet`` model, usable through the ``TokenClassifier`` protocol.

    The first ``predict_proba`` builds and hybridises the Gluon network from
    ``params``; treat ``params`` as read-only afterwards.

    Attributes:
        config: The model options it was built with (a dict is validated).
        params: Host copies of the Gluon parameters, keyed as ``save_parameters``
            keys them (``embedding.weight``, ``rnn0.l0_i2h_weight``, ...).
        backend: Always ``"mxnet"``.
        kind: Always ``"lstm_mxnet"``: the key ``MXNetModelDataset`` loads it by.
    """

    config: LSTMConfig
    params: dict[str, np.ndarray]
    backend: str = field(default="mxnet", init=False)
    kind: str = field(default=MODEL_KIND, init=False)
    _network: Any = field(default=None, init=False, repr=False, compare=False)

    # Rows per forward call, to keep memory flat on large inputs.
    max_batch_size = 2048

    def __post_init__(self) -> None:
        self.config = LSTMConfig.model_validate(self.config)
        if EMBEDDING_PARAM not in self.params:
            raise ValueError(f"params lack the embedding matrix {EMBEDDING_PARAM!r}")

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle without the Gluon network (rebuilt on demand)."""
        return {**self.__dict__, "_network": None}

    @property
    def vocab_size(self) -> int:
        """Rows of the embedding matrix."""
        return int(self.params[EMBEDDING_PARAM].shape[0])

    def network(self) -> HybridBlock:
        """The hybridised Gluon network holding ``params`` (built once)."""
        if self._network is None:
            mx = import_mxnet()
            network = build_network(self.config, self.vocab_size)
            # Zeros, not Xavier: overwritten at once, and no draw from (or reseeding
            # of) MXNet's global random state that a training may be using.
            network.initialize(mx.init.Zero(), ctx=mx.cpu())
            set_network_parameters(network, self.params)
            network.hybridize()
            self._network = network
        return self._network

    def config_dict(self) -> dict[str, Any]:
        """The model options as JSON-ready values (stored by ``MXNetModelDataset``)."""
        return self.config.model_dump(mode="json")

    def save_parameters(self, path: str) -> None:
        """Write the parameters with Gluon's ``save_parameters`` to a local ``path``."""
        self.network().save_parameters(path)

    def parameter_summary(self) -> dict[str, int | bool]:
        """Count the parameters; the embedding is trained with the rest."""
        shapes = {name: array.shape for name, array in self.params.items()}
        return summarize_parameters(shapes, embedding=EMBEDDING_PARAM)

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return class probabilities, float32 ``(N, num_classes)``.

        Args:
            token_ids: int ``(N, T)`` ids, post-padded with 0.
            lengths: ``(N,)`` real tokens per row; 0 is allowed (read at position 0).
        """
        mx = import_mxnet()
        token_ids = np.asarray(token_ids)
        if len(token_ids) == 0:
            return np.zeros((0, self.config.num_classes), dtype=np.float32)
        network = self.network()
        lengths = readout_lengths(lengths, token_ids.shape[1])
        parts = []
        for start in range(0, len(token_ids), self.max_batch_size):
            rows = slice(start, start + self.max_batch_size)
            logits = network(to_ndarray(token_ids[rows]), to_ndarray(lengths[rows]))
            parts.append(mx.nd.softmax(logits).asnumpy())
        return np.concatenate(parts).astype(np.float32, copy=False)


def load_lstm_classifier(config: dict[str, Any], params_path: str) -> LSTMClassifier:
    """Rebuild a classifier from its options and a ``save_parameters`` file.

    The ``MXNetModelDataset`` loader of kind ``"lstm_mxnet"``; Gluon's
    ``load_parameters`` checks every name and shape against the network.
    """
    config = LSTMConfig.model_validate(config)
    mx = import_mxnet()
    saved = mx.nd.load(params_path)
    if not isinstance(saved, dict) or EMBEDDING_PARAM not in saved:
        raise ValueError(f"the parameters file has no {EMBEDDING_PARAM!r}")
    # The vocabulary size is not an option: it comes with the embedding matrix.
    network = build_network(config, int(saved[EMBEDDING_PARAM].shape[0]))
    network.load_parameters(params_path, ctx=mx.cpu())
    network.hybridize()
    classifier = LSTMClassifier(config=config, params=network_parameters(network))
    classifier._network = network
    return classifier
