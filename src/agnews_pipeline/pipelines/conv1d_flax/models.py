"""Trainable embeddings -> Conv1D -> max over time -> Dense: the Flax networks.

Section 1 of the approaches, written like the flax ``examples/sst2`` models:

- ``single``: Embed(V, 128) -> Conv(32, 7, 'SAME') -> ReLU -> max over time
  -> Dense(4);
- ``double``: Embed -> Conv(32, 7) -> ReLU -> max_pool(window 5) -> Conv(32, 7)
  -> ReLU -> max over time -> Dense(4).

The tutorial's ``max_pool(window 5)`` is read as the Flax call that gives only a
window, ``nn.max_pool(x, window_shape=(5,))``: Flax then slides it with stride 1
over the 'VALID' positions (50 steps become 46), unlike Keras' ``MaxPooling1D(5)``,
whose stride defaults to the window (50 become 10). ``pool_stride: 5`` in the
``model`` block gives the Keras reading. The max over time covers every position, padding included (the
tutorial embedded id 0 like any other token and did not mask it).

Flax and JAX are imported inside the functions that need them, so the node module
(and with it ``kedro viz build``) can import this configuration without loading JAX.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import (
    predict_in_padded_chunks,
    summarize_module_parameters,
)

if TYPE_CHECKING:
    import flax.linen as nn

Architecture = Literal["single", "double"]

# Name Flax gives the embedding module and its matrix, ``params["embed"]["embedding"]``.
EMBEDDING_MODULE = "embed"
EMBEDDING_PARAM = "embedding"


class Conv1DFlaxConfig(BaseModel):
    """The ``model`` parameter block of one ``conv1d_flax`` approach.

    Attributes:
        architecture: ``single`` (one convolution) or ``double`` (two, with a
            max-pool between them).
        embed_dim: Width of the trainable embeddings.
        conv_features: Output channels of each convolution.
        kernel_size: Width of each convolution window, in tokens.
        pool_window: Window of the max-pool between the two convolutions.
        pool_stride: Its stride: 1 is Flax's default for ``max_pool`` called
            with a window only (how we read the tutorial), 5 is Keras' default.
        num_classes: Width of the output layer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: Architecture
    embed_dim: int = Field(128, ge=1)
    conv_features: int = Field(32, ge=1)
    kernel_size: int = Field(7, ge=1)
    pool_window: int = Field(5, ge=1)
    pool_stride: int = Field(1, ge=1)
    num_classes: int = Field(4, ge=2)


def max_pool_1d(x: Any, window: int, stride: int) -> Any:
    """``nn.max_pool(x, (window,), strides=(stride,), padding="VALID")`` over axis 1.

    Same values and the same gradient (all of it to the first maximum of each
    window, ties included), but the backward pass is elementwise: XLA on CPU runs
    ``max_pool``'s select-and-scatter gradient several times slower, a cost the
    ``double`` architecture would pay on every step.
    """
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415

    length = (x.shape[1] - window) // stride + 1
    windows = [x[:, k : k + stride * (length - 1) + 1 : stride] for k in range(window)]
    first = jax.lax.stop_gradient(jnp.argmax(jnp.stack(windows), axis=0))
    pooled = windows[0]
    for k in range(1, window):
        pooled = jnp.where(first == k, windows[k], pooled)
    return pooled


@functools.cache
def _module_class() -> type[nn.Module]:
    """Define the linen module on first use, so importing this file loads no Flax.

    ``models.Conv1DTextClassifier`` (module ``__getattr__`` below) returns it.
    """
    import flax.linen as nn  # noqa: PLC0415
    import jax  # noqa: PLC0415

    class Conv1DTextClassifier(nn.Module):
        """Embed -> one or two Conv1D -> ReLU -> max over time -> Dense.

        Attributes:
            vocab_size: Rows of the embedding matrix (index 0 is padding).
            config: Architecture and layer sizes.
        """

        vocab_size: int
        config: Conv1DFlaxConfig

        @nn.compact
        def __call__(self, token_ids: jax.Array) -> jax.Array:
            """Map int ``(N, T)`` token ids to float32 ``(N, num_classes)`` logits."""
            config = self.config
            x = nn.Embed(self.vocab_size, config.embed_dim, name=EMBEDDING_MODULE)(
                token_ids
            )
            x = nn.Conv(
                config.conv_features,
                (config.kernel_size,),
                padding="SAME",
                name="conv1",
            )(x)
            x = nn.relu(x)
            if config.architecture == "double":
                x = max_pool_1d(x, config.pool_window, config.pool_stride)
                x = nn.Conv(
                    config.conv_features,
                    (config.kernel_size,),
                    padding="SAME",
                    name="conv2",
                )(x)
                x = nn.relu(x)
            x = x.max(axis=1)  # over time, padding positions included
            return nn.Dense(config.num_classes, name="dense")(x)

    return Conv1DTextClassifier


def __getattr__(name: str) -> Any:
    if name == "Conv1DTextClassifier":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(config: Conv1DFlaxConfig, vocab_size: int) -> nn.Module:
    """Return the linen module of one approach for a vocabulary of ``vocab_size``."""
    return _module_class()(vocab_size=vocab_size, config=config)


def pooled_length(config: Conv1DFlaxConfig, max_tokens: int) -> int:
    """Positions left after the ``double`` max-pool ('VALID'), ``max_tokens`` for single."""
    if config.architecture == "single":
        return max_tokens
    return max(0, (max_tokens - config.pool_window) // config.pool_stride + 1)


@dataclass(eq=False)
class Conv1DClassifier:
    """A trained ``conv1d_flax`` model, usable through the ``TokenClassifier`` protocol.

    The first ``predict_proba`` compiles the forward pass and moves ``params`` to
    the device once; treat ``params`` as read-only afterwards.

    Attributes:
        config: The model options it was built with (a dict is validated).
        params: The Flax ``params`` collection, ``{module: {name: np.ndarray}}``.
        backend: Always ``"flax"``.
    """

    config: Conv1DFlaxConfig
    params: dict[str, dict[str, np.ndarray]]
    backend: str = field(default="flax", init=False)
    _predict: Any = field(default=None, init=False, repr=False, compare=False)

    # Rows per forward call (predict_in_padded_chunks says why calls are padded).
    max_batch_size = 2048

    def __post_init__(self) -> None:
        self.config = Conv1DFlaxConfig.model_validate(self.config)

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle without the compiled forward pass (rebuilt on demand)."""
        return {**self.__dict__, "_predict": None}

    @property
    def vocab_size(self) -> int:
        """Rows of the embedding matrix."""
        return int(self.params[EMBEDDING_MODULE][EMBEDDING_PARAM].shape[0])

    def _predict_fn(self) -> Any:
        if self._predict is None:
            import jax  # noqa: PLC0415

            model = build_model(self.config, self.vocab_size)
            device_params = jax.device_put({"params": self.params})
            apply = jax.jit(
                lambda variables, token_ids: jax.nn.softmax(
                    model.apply(variables, token_ids)
                )
            )
            self._predict = lambda token_ids: apply(device_params, token_ids)
        return self._predict

    def parameter_summary(self) -> dict[str, int | bool]:
        """Count the parameters; every one is trained."""
        return summarize_module_parameters(
            self.params,
            embedding_module=EMBEDDING_MODULE,
            embedding_param=EMBEDDING_PARAM,
            frozen_embedding=False,
        )

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return class probabilities, float32 ``(N, num_classes)``.

        ``lengths`` is accepted for the protocol: the max over time reads all ``T``
        positions, padding included, as the tutorial did, so rows of length 0
        (LIME removing every word) score the all-padding article.
        """
        del lengths
        return predict_in_padded_chunks(
            self._predict_fn(), token_ids, self.config.num_classes, self.max_batch_size
        )
