"""Embed -> vanilla ``torch.nn.RNN`` module(s) -> last step -> Linear: the network.

Section 4 of the approaches: ``nn.Embedding(V, 50)`` trained from scratch, one or more
``nn.RNN`` modules (``batch_first``; ``tanh`` or ``relu``; ``num_layers``;
bidirectional), the output at the "last step" read out and fed to ``nn.Linear(4)``.
``rnn_stacked`` is three separate modules (50 -> 60 -> 75), the others one module.

The network is a plain ``nn.ModuleDict`` (``embedding``, ``rnns``, ``classifier``)
applied by :func:`network_logits`, the functional split the JAX families use: no
custom ``nn.Module`` subclass, so this file imports torch only inside functions and
the node module (and ``kedro viz build``) can use the configuration without loading
torch.

Two tutorial flaws are fixed by default, each reproducible by a parameter:

- ``readout``: ``last_token`` reads each direction at its own last step over the real
  tokens. A unidirectional RNN's output at step ``t`` depends only on steps ``<= t``,
  so a gather at index ``lengths - 1`` of the padded output is exact (empty rows are
  read at index 0). A bidirectional module's backward direction instead runs, layer
  by layer, on each row reversed within its length (:func:`bidirectional_outputs`),
  so it starts at the last real token rather than in the padding: the same outputs
  at every real position as ``pack_padded_sequence``, without its per-step copies and
  gradient accumulation (a quarter of a packed 3-layer step on CPU:
  ``benchmarks/results/rnn_torch_steps.md``). The readout is
  ``[forward at lengths - 1, backward at 0]``: each direction's final state after the
  whole article (the top layer's ``h_n``). Reading the backward half at
  ``lengths - 1`` instead would give it one token to see and leave its top-layer
  recurrent weights without any gradient.
  ``last_position`` is the tutorial's ``output[:, -1]``, the last *padded* position,
  where the forward half has run through the padding and the backward half has seen
  only padding.
- ``initial_hidden``: ``zeros`` starts every module from a zero hidden state, so a
  prediction is a function of its input; ``random`` draws ``torch.randn`` on every
  call as the tutorial did (predictions then vary from call to call).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from agnews_pipeline.classifier import summarize_parameters

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)

Readout = Literal["last_token", "last_position"]
InitialHidden = Literal["zeros", "random"]

# Keys of the network's ModuleDict, hence the prefixes of its state_dict keys.
EMBEDDING = "embedding"
RNNS = "rnns"
CLASSIFIER = "classifier"


class RNNTorchConfig(BaseModel):
    """The ``model`` parameter block of one ``rnn_torch`` approach.

    Attributes:
        embed_dim: Width of the trainable embedding.
        hidden_sizes: Hidden width of each ``nn.RNN`` module, applied in order;
            ``[50, 60, 75]`` is the tutorial's stack of three separate modules.
        num_layers: ``num_layers`` of every module.
        nonlinearity: ``tanh`` or ``relu``.
        bidirectional: Run every module in both directions.
        num_classes: Width of the output layer.
        readout: ``last_token`` (default, fixed) or ``last_position`` (tutorial).
        initial_hidden: ``zeros`` (default, fixed) or ``random`` (tutorial).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    embed_dim: int = Field(50, ge=1)
    hidden_sizes: tuple[PositiveInt, ...] = Field((50,), min_length=1)
    num_layers: int = Field(1, ge=1)
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    bidirectional: bool = False
    num_classes: int = Field(4, ge=2)
    readout: Readout = "last_token"
    initial_hidden: InitialHidden = "zeros"

    @property
    def directions(self) -> int:
        """2 for a bidirectional network, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def feature_size(self) -> int:
        """Width of the read-out vector the classifier sees."""
        return self.hidden_sizes[-1] * self.directions


@functools.cache
def configure_threads() -> int:
    """Run torch on one intra-op thread unless ``OMP_NUM_THREADS`` says otherwise.

    The vanilla RNNs run many tiny sequential steps (a 50-unit cell on a batch of
    64), each a barrier for every thread: on two idle cores a second thread gains
    little, and whenever anything else competes for a core (another process, or the
    pool of another framework loaded in the same ``kedro run``) one descheduled
    thread stalls every step. A single thread cannot be stalled that way. A user's
    explicit ``OMP_NUM_THREADS`` wins (MXNet's own default never reaches it: see
    :mod:`agnews_pipeline.mxnet_compat`).
    """
    import torch  # noqa: PLC0415

    explicit = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(int(explicit) if explicit else 1)
    threads = torch.get_num_threads()
    logger.debug("torch uses %d intra-op threads", threads)
    return threads


def build_network(config: RNNTorchConfig, vocab_size: int) -> nn.ModuleDict:
    """Create the modules with torch's default initialisation (seed beforehand).

    Args:
        config: The approach's model options.
        vocab_size: Rows of the embedding, padding/unknown row 0 included.

    Returns:
        ``ModuleDict(embedding=Embedding, rnns=ModuleList[RNN], classifier=Linear)``.
    """
    from torch import nn  # noqa: PLC0415

    rnns = []
    input_size = config.embed_dim
    for hidden_size in config.hidden_sizes:
        rnns.append(
            nn.RNN(
                input_size=input_size,
                hidden_size=hidden_size,
                num_layers=config.num_layers,
                nonlinearity=config.nonlinearity,
                batch_first=True,
                bidirectional=config.bidirectional,
            )
        )
        input_size = hidden_size * config.directions
    return nn.ModuleDict(
        {
            # No padding_idx: row 0 is also <unk>, trained as in the tutorial.
            EMBEDDING: nn.Embedding(vocab_size, config.embed_dim),
            RNNS: nn.ModuleList(rnns),
            CLASSIFIER: nn.Linear(config.feature_size, config.num_classes),
        }
    )


def _initial_hidden(
    rnn: nn.RNN, batch_size: int, config: RNNTorchConfig, like: torch.Tensor
) -> torch.Tensor | None:
    if config.initial_hidden == "zeros":
        return None  # nn.RNN's own zero state
    import torch  # noqa: PLC0415

    shape = (rnn.num_layers * config.directions, batch_size, rnn.hidden_size)
    return torch.randn(shape, dtype=like.dtype)


def reversal_index(lengths: torch.Tensor, max_tokens: int) -> torch.Tensor:
    """Flat row-major positions that reverse each row's first ``lengths`` steps in place.

    Taking ``sequences.reshape(N * T, -1)[index]`` maps step ``t < length`` of each
    row to ``length - 1 - t`` and leaves the padding where it is. The permutation is
    its own inverse.
    """
    import torch  # noqa: PLC0415

    steps = torch.arange(max_tokens).expand(len(lengths), max_tokens)
    last = (lengths - 1).unsqueeze(1)
    within = torch.where(steps <= last, last - steps, steps)
    return (within + max_tokens * torch.arange(len(lengths)).unsqueeze(1)).reshape(-1)


@functools.cache
def _reversal() -> type:
    """An autograd function applying :func:`reversal_index`'s permutation.

    Its gradient is the same permutation (an involution), one more index-select,
    where autograd's own gradient of an indexed gather is a scatter-add, which took
    as long as the gather itself on CPU.
    """
    import torch  # noqa: PLC0415

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(
            ctx: Any, sequences: torch.Tensor, index: torch.Tensor
        ) -> torch.Tensor:
            ctx.save_for_backward(index)
            return _permute_steps(sequences, index)

        @staticmethod
        def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
            (index,) = ctx.saved_tensors
            return _permute_steps(gradient, index), None

    return Reverse


def _permute_steps(sequences: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    rows, steps, width = sequences.shape
    return (
        sequences.reshape(rows * steps, width)
        .index_select(0, index)
        .view(rows, steps, width)
    )


def _reverse(sequences: torch.Tensor, reversal: torch.Tensor) -> torch.Tensor:
    return _reversal().apply(sequences, reversal)


def bidirectional_outputs(
    rnn: nn.RNN,
    inputs: torch.Tensor,
    hidden: torch.Tensor | None,
    reversal: torch.Tensor,
) -> torch.Tensor:
    """A bidirectional ``nn.RNN``'s outputs with each row's backward pass in its length.

    Layer by layer with the module's own weights, the forward direction runs on the
    padded rows and the backward one on the rows reversed within their lengths
    (:func:`reversal_index`), its outputs reversed back. Padding follows the real
    steps in both, so it never reaches a real position: at every real position this
    equals the module run on a packed sequence.

    Args:
        rnn: A bidirectional, ``batch_first`` module.
        inputs: float32 ``(N, T, input_size)``.
        hidden: ``(num_layers * 2, N, hidden_size)`` initial states, or ``None``
            for zeros.
        reversal: From :func:`reversal_index` of the rows' lengths.

    Returns:
        float32 ``(N, T, 2 * hidden_size)``, forward half first as ``nn.RNN``'s.
    """
    import torch  # noqa: PLC0415
    from torch.func import functional_call  # noqa: PLC0415

    one_direction = _one_direction_rnns(
        rnn.input_size, rnn.hidden_size, rnn.nonlinearity
    )
    outputs = inputs
    for layer in range(rnn.num_layers):
        halves = []
        for direction, suffix in enumerate(("", "_reverse")):
            weights = {
                f"{name}_l0": getattr(rnn, f"{name}_l{layer}{suffix}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            }
            start = (
                None
                if hidden is None
                else hidden[2 * layer + direction : 2 * layer + direction + 1]
            )
            sequences = outputs if direction == 0 else _reverse(outputs, reversal)
            result, _ = functional_call(
                one_direction[min(layer, 1)], weights, (sequences, start)
            )
            halves.append(result if direction == 0 else _reverse(result, reversal))
        outputs = torch.cat(halves, dim=2)
    return outputs


@functools.cache
def _one_direction_rnns(
    input_size: int, hidden_size: int, nonlinearity: str
) -> tuple[nn.RNN, nn.RNN]:
    """Weightless single-layer shells that :func:`bidirectional_outputs` runs weights in.

    The first takes the module's input, the second a layer above (both directions'
    outputs).
    """
    from torch import nn  # noqa: PLC0415

    def shell(size: int) -> nn.RNN:
        rnn = nn.RNN(size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        return rnn.to("meta")

    return shell(input_size), shell(2 * hidden_size)


def sequence_features(
    network: nn.ModuleDict,
    config: RNNTorchConfig,
    token_ids: torch.Tensor,
    lengths: torch.Tensor,
) -> torch.Tensor:
    """Run the RNN modules and read one vector per row at the configured step.

    Args:
        network: Built by :func:`build_network`.
        config: The options it was built with.
        token_ids: int64 ``(N, T)``, post-padded.
        lengths: int64 ``(N,)`` real tokens per row, any value (clamped to
            ``[0, T]``; ``0`` reads position 0).

    Returns:
        float32 ``(N, feature_size)``.
    """
    import torch  # noqa: PLC0415

    batch_size, max_tokens = token_ids.shape
    lengths = lengths.clamp(0, max_tokens)
    outputs = network[EMBEDDING](token_ids)
    within_lengths = config.readout == "last_token" and config.bidirectional
    # An empty row runs on its pad token, as a one-token article.
    reversal = (
        reversal_index(lengths.clamp(min=1), max_tokens) if within_lengths else None
    )
    for rnn in network[RNNS]:
        hidden = _initial_hidden(rnn, batch_size, config, outputs)
        if reversal is not None:
            outputs = bidirectional_outputs(rnn, outputs, hidden, reversal)
        else:
            outputs, _ = rnn(outputs, hidden)
    if config.readout == "last_position":
        return outputs[:, -1]
    forward = outputs[torch.arange(batch_size), (lengths - 1).clamp(min=0)]
    if not config.bidirectional:
        return forward
    hidden_size = config.hidden_sizes[-1]
    return torch.cat([forward[:, :hidden_size], outputs[:, 0, hidden_size:]], dim=-1)


def network_logits(
    network: nn.ModuleDict,
    config: RNNTorchConfig,
    token_ids: torch.Tensor,
    lengths: torch.Tensor,
) -> torch.Tensor:
    """Class scores ``(N, num_classes)``; see :func:`sequence_features` for the inputs."""
    return network[CLASSIFIER](sequence_features(network, config, token_ids, lengths))


def as_index_tensors(
    token_ids: np.ndarray, lengths: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert host arrays to the int64 tensors the network takes.

    ``lengths=None`` means every row fills all ``T`` positions.
    """
    import torch  # noqa: PLC0415

    token_ids = np.asarray(token_ids, dtype=np.int64)
    if lengths is None:
        lengths = np.full(len(token_ids), token_ids.shape[1], dtype=np.int64)
    return (
        torch.from_numpy(np.ascontiguousarray(token_ids)),
        torch.from_numpy(np.asarray(lengths, dtype=np.int64).reshape(len(token_ids))),
    )


@dataclass(eq=False)
class RNNClassifier:
    """A trained ``rnn_torch`` model, usable through the ``TokenClassifier`` protocol.

    Attributes:
        config: The model options it was built with (a dict is validated).
        network: The modules from :func:`build_network`, kept in eval mode.
        backend: Always ``"torch"``.
    """

    config: RNNTorchConfig
    network: nn.ModuleDict
    backend: str = field(default="torch", init=False)

    # Rows per forward pass, so LIME's and evaluation's calls keep memory flat.
    max_batch_size = 2048

    def __post_init__(self) -> None:
        self.config = RNNTorchConfig.model_validate(self.config)
        # Gradients left over from training are dead weight in a predictor.
        self.network.zero_grad(set_to_none=True)
        self.network.eval()

    @classmethod
    def from_state_dict(
        cls, config: RNNTorchConfig | dict[str, Any], state_dict: dict[str, Any]
    ) -> RNNClassifier:
        """Rebuild the network for ``config`` and load ``state_dict`` strictly."""
        config = RNNTorchConfig.model_validate(config)
        embedding = state_dict.get(f"{EMBEDDING}.weight")
        if embedding is None or embedding.ndim != 2:
            raise ValueError(f"state_dict lacks a 2-d '{EMBEDDING}.weight'")
        network = build_network(config, int(embedding.shape[0]))
        network.load_state_dict(state_dict, strict=True)
        return cls(config=config, network=network)

    @property
    def vocab_size(self) -> int:
        """Rows of the embedding."""
        return int(self.network[EMBEDDING].num_embeddings)

    def parameter_summary(self) -> dict[str, int | bool]:
        """Count the parameters; the embedding is trained with the rest."""
        parameters = dict(self.network.named_parameters())
        return summarize_parameters(
            {name: tuple(parameter.shape) for name, parameter in parameters.items()},
            embedding=f"{EMBEDDING}.weight",
            frozen={
                name
                for name, parameter in parameters.items()
                if not parameter.requires_grad
            },
        )

    def predict_proba(
        self, token_ids: np.ndarray, lengths: np.ndarray | None
    ) -> np.ndarray:
        """Return class probabilities, float32 ``(N, num_classes)``.

        Args:
            token_ids: ``(N, T)`` ids, post-padded with 0.
            lengths: ``(N,)`` real tokens per row (``0`` is allowed); ``None``
                treats every position as real.
        """
        import torch  # noqa: PLC0415

        configure_threads()
        token_ids, lengths = as_index_tensors(token_ids, lengths)
        if len(token_ids) == 0:
            return np.zeros((0, self.config.num_classes), dtype=np.float32)
        self.network.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(token_ids), self.max_batch_size):
                rows = slice(start, start + self.max_batch_size)
                logits = network_logits(
                    self.network, self.config, token_ids[rows], lengths[rows]
                )
                parts.append(torch.softmax(logits, dim=-1).numpy())
        return np.concatenate(parts).astype(np.float32, copy=False)
