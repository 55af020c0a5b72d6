"""Frozen GloVe -> pooling -> Dense -> Dense: the Haiku network and its trained form.

Section 2 of the approaches: ``hk.Embed(embedding_matrix=glove)`` (parameter
``embed/embeddings``), pooling of the ``T`` token vectors (``flatten`` to ``T * d``,
``mean`` over all ``T`` positions padding included, or ``sum``), then
``hk.Linear(hidden_units)`` and ``hk.Linear(num_classes)`` with no activation
between, as in the tutorial.

JAX and Haiku are imported inside the functions that need them, so the node module
(and with it ``kedro viz build``) can import this configuration without loading JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agnews_pipeline.classifier import (
    predict_in_padded_chunks,
    summarize_module_parameters,
)

if TYPE_CHECKING:
    import haiku as hk

Pooling = Literal["flatten", "mean", "sum"]

# Module and parameter names Haiku gives the GloVe lookup; the optimizer freezes them.
EMBEDDING_MODULE = "embed"
EMBEDDING_PARAM = "embeddings"


class GloveHaikuConfig(BaseModel):
    """The ``model`` parameter block of one ``glove_haiku`` approach.

    Attributes:
        pooling: How the token vectors become one vector per article.
        hidden_units: Width of the first dense layer.
        num_classes: Width of the output layer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pooling: Pooling
    hidden_units: int = Field(128, ge=1)
    num_classes: int = Field(4, ge=2)


def pool(embedded: Any, pooling: Pooling) -> Any:
    """Reduce ``(N, T, d)`` token vectors to ``(N, T * d)`` or ``(N, d)``."""
    if pooling == "flatten":
        return embedded.reshape(embedded.shape[0], -1)
    if pooling == "mean":
        return embedded.mean(axis=1)  # divides by T: padding positions count
    if pooling == "sum":
        return embedded.sum(axis=1)
    raise ValueError(f"Unknown pooling {pooling!r}")


def build_network(
    config: GloveHaikuConfig,
    embedding_matrix: np.ndarray | None = None,
    *,
    vocab_size: int | None = None,
    embed_dim: int | None = None,
) -> hk.Transformed:
    """Return the transformed net ``(params, token_ids) -> logits``.

    Args:
        config: The approach's model options.
        embedding_matrix: The GloVe matrix ``(V, d)`` that ``init`` copies into
            the ``embed/embeddings`` parameter; only needed to initialise.
        vocab_size: ``V`` when no matrix is given (applying trained parameters).
        embed_dim: ``d`` when no matrix is given.

    Returns:
        An ``hk.Transformed`` whose ``apply`` needs no random key.
    """
    import haiku as hk  # noqa: PLC0415
    import jax  # noqa: PLC0415

    def forward(token_ids: jax.Array) -> jax.Array:
        embed = hk.Embed(
            vocab_size=vocab_size,
            embed_dim=embed_dim,
            embedding_matrix=embedding_matrix,
            name=EMBEDDING_MODULE,
        )
        # The matrix is frozen by the optimizer; stopping the gradient here also
        # spares the backward pass the scatter-add into a (V, d) zero matrix.
        embedded = jax.lax.stop_gradient(embed(token_ids))
        hidden = hk.Linear(config.hidden_units)(pool(embedded, config.pooling))
        return hk.Linear(config.num_classes)(hidden)

    return hk.without_apply_rng(hk.transform(forward))


@dataclass(eq=False)
class GloveHaikuClassifier:
    """A trained ``glove_haiku`` model, usable through the ``TokenClassifier`` protocol.

    The first ``predict_proba`` compiles the forward pass and moves ``params`` to
    the device once; treat ``params`` as read-only afterwards.

    Attributes:
        config: The model options it was built with (a dict is validated).
        params: Haiku parameters, ``{module: {name: np.ndarray}}``.
        backend: Always ``"haiku"``.
    """

    config: GloveHaikuConfig
    params: dict[str, dict[str, np.ndarray]]
    backend: str = field(default="haiku", init=False)
    _predict: Any = field(default=None, init=False, repr=False, compare=False)

    # Rows per forward call (predict_in_padded_chunks says why calls are padded).
    max_batch_size = 2048

    def __post_init__(self) -> None:
        self.config = GloveHaikuConfig.model_validate(self.config)

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle without the compiled forward pass (rebuilt on demand)."""
        return {**self.__dict__, "_predict": None}

    @property
    def vocab_size(self) -> int:
        """Rows of the embedding matrix."""
        return int(self.params[EMBEDDING_MODULE][EMBEDDING_PARAM].shape[0])

    @property
    def embed_dim(self) -> int:
        """Columns of the embedding matrix."""
        return int(self.params[EMBEDDING_MODULE][EMBEDDING_PARAM].shape[1])

    def _predict_fn(self) -> Any:
        if self._predict is None:
            import jax  # noqa: PLC0415

            network = build_network(
                self.config, vocab_size=self.vocab_size, embed_dim=self.embed_dim
            )
            device_params = jax.device_put(self.params)
            apply = jax.jit(
                lambda params, token_ids: jax.nn.softmax(
                    network.apply(params, token_ids)
                )
            )
            self._predict = lambda token_ids: apply(device_params, token_ids)
        return self._predict

    def parameter_summary(self) -> dict[str, int | bool]:
        """Count the parameters; the GloVe matrix is frozen."""
        return summarize_module_parameters(
            self.params,
            embedding_module=EMBEDDING_MODULE,
            embedding_param=EMBEDDING_PARAM,
            frozen_embedding=True,
        )

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return class probabilities, float32 ``(N, num_classes)``.

        ``lengths`` is accepted for the protocol; the network reads all ``T``
        positions, padding included, as the tutorial did.
        """
        del lengths
        return predict_in_padded_chunks(
            self._predict_fn(), token_ids, self.config.num_classes, self.max_batch_size
        )
