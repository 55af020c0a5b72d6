"""Floating-point operations of one training epoch, counted from an approach's architecture.

Convention (what the figures in ``benchmarks/results/full_scale*.md`` mean):

- a multiply-add is 2 FLOPs, and only the matrix products are counted: embedding
  lookups, pooling (mean, sum, max, flatten), activations, biases, the softmax and
  the loss are free;
- dense layer: ``2 * in * out`` per example;
- 1-D convolution: ``2 * kernel * c_in * c_out * L_out`` per example (``'SAME'``
  padding: ``L_out`` is the input length);
- vanilla RNN cell: ``2 * (in + h) * h`` per step, an LSTM cell 4 times that (four
  gates), per layer and per direction, over every one of the ``max_tokens`` steps
  (padding included: the packed bidirectional ``rnn_torch`` models skip the padding,
  so theirs is an upper bound);
- backward pass = 2 x forward, so one training example costs 3 x its forward pass;
- an epoch is one pass over the training split; the validation scoring that the
  measured seconds per epoch also include is not counted, so the achieved GFLOP/s
  is a slight underestimate.

The counters take each family's own ``model`` configuration class, so defaults
(``embed_dim`` and the like) are the ones the trainers use. Importing those classes
loads no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agnews_pipeline.pipelines.conv1d_flax.models import Conv1DFlaxConfig, pooled_length
from agnews_pipeline.pipelines.glove_gluonnlp.models import GloveGluonConfig
from agnews_pipeline.pipelines.glove_haiku.models import GloveHaikuConfig
from agnews_pipeline.pipelines.lstm_mxnet.models import LSTMConfig
from agnews_pipeline.pipelines.rnn_torch.models import RNNTorchConfig

BACKWARD_FACTOR = 2
LSTM_GATES = 4


def dense_flops(inputs: int, outputs: int) -> int:
    """Forward FLOPs of one example through a dense layer."""
    return 2 * inputs * outputs


def dense_chain_flops(inputs: int, widths: Sequence[int]) -> int:
    """Forward FLOPs of dense layers of ``widths`` applied in order to ``inputs`` values."""
    total = 0
    for width in widths:
        total += dense_flops(inputs, width)
        inputs = width
    return total


def conv1d_flops(kernel: int, channels_in: int, channels_out: int, length_out: int) -> int:
    """Forward FLOPs of one example through a 1-D convolution."""
    return 2 * kernel * channels_in * channels_out * length_out


def recurrent_flops(
    inputs: int,
    hidden_sizes: Sequence[int],
    *,
    num_layers: int,
    directions: int,
    steps: int,
    gates: int = 1,
) -> tuple[int, int]:
    """Forward FLOPs of one example through stacked recurrent modules, and the output width.

    Each entry of ``hidden_sizes`` is one module of ``num_layers`` layers; a layer's
    input is the previous layer's output (``h * directions`` wide).
    """
    total = 0
    for hidden in hidden_sizes:
        for _ in range(num_layers):
            per_step = gates * 2 * (inputs + hidden) * hidden
            total += per_step * steps * directions
            inputs = hidden * directions
    return total, inputs


def glove_haiku_flops(model: Mapping[str, Any], *, max_tokens: int, embed_dim: int) -> int:
    """Forward FLOPs per example: pooled GloVe -> Linear(hidden) -> Linear(classes)."""
    config = GloveHaikuConfig.model_validate(model)
    pooled = max_tokens * embed_dim if config.pooling == "flatten" else embed_dim
    return dense_chain_flops(pooled, [config.hidden_units, config.num_classes])


def glove_gluonnlp_flops(
    model: Mapping[str, Any], *, max_tokens: int, embed_dim: int
) -> int:
    """Forward FLOPs per example: pooled GloVe -> Dense(hidden...) -> Dense(classes)."""
    config = GloveGluonConfig.model_validate(model)
    pooled = max_tokens * embed_dim if config.pooling == "flatten" else embed_dim
    return dense_chain_flops(pooled, [*config.hidden_units, config.num_classes])


def conv1d_flax_flops(model: Mapping[str, Any], *, max_tokens: int, embed_dim: int) -> int:
    """Forward FLOPs per example: Conv1D ('SAME') [-> max-pool -> Conv1D] -> Dense."""
    config = Conv1DFlaxConfig.model_validate(model)
    del embed_dim  # the embedding is trainable: its width is the model's embed_dim
    k, width = config.kernel_size, config.conv_features
    total = conv1d_flops(k, config.embed_dim, width, max_tokens)
    if config.architecture == "double":
        total += conv1d_flops(k, width, width, pooled_length(config, max_tokens))
    return total + dense_flops(width, config.num_classes)


def rnn_torch_flops(model: Mapping[str, Any], *, max_tokens: int, embed_dim: int) -> int:
    """Forward FLOPs per example: vanilla RNN module(s) -> Linear(classes)."""
    config = RNNTorchConfig.model_validate(model)
    del embed_dim  # the embedding is trainable: its width is the model's embed_dim
    return _recurrent_classifier_flops(
        config, config.directions, 1, [config.num_classes], max_tokens
    )


def lstm_mxnet_flops(model: Mapping[str, Any], *, max_tokens: int, embed_dim: int) -> int:
    """Forward FLOPs per example: LSTM(s) -> [Dense(dense_units)] -> Dense(classes)."""
    config = LSTMConfig.model_validate(model)
    del embed_dim  # the embedding is trainable: its width is the model's embed_dim
    head = [*([config.dense_units] if config.dense_units else []), config.num_classes]
    directions = 2 if config.bidirectional else 1
    return _recurrent_classifier_flops(config, directions, LSTM_GATES, head, max_tokens)


def _recurrent_classifier_flops(
    config: RNNTorchConfig | LSTMConfig,
    directions: int,
    gates: int,
    head: Sequence[int],
    steps: int,
) -> int:
    """Forward FLOPs per example of a recurrent stack and the dense ``head`` after it."""
    total, width = recurrent_flops(
        config.embed_dim,
        config.hidden_sizes,
        num_layers=config.num_layers,
        directions=directions,
        steps=steps,
        gates=gates,
    )
    return total + dense_chain_flops(width, head)


FORWARD_FLOPS: dict[str, Callable[..., int]] = {
    "glove_haiku": glove_haiku_flops,
    "conv1d_flax": conv1d_flax_flops,
    "rnn_torch": rnn_torch_flops,
    "lstm_mxnet": lstm_mxnet_flops,
    "glove_gluonnlp": glove_gluonnlp_flops,
}


def epoch_flops(forward_per_example: int, train_rows: int) -> int:
    """Forward + backward FLOPs of one pass over ``train_rows`` examples."""
    return (1 + BACKWARD_FACTOR) * forward_per_example * train_rows
