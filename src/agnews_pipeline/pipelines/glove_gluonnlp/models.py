"""Frozen GloVe -> pooling -> Dense(128, relu) -> Dense(64, relu) -> Dense(4) in Gluon.

Section 5 of the approaches: a Gluon ``nn.Embedding`` holding the GloVe matrix that
GluonNLP's token-embedding API built (see ``embedding.py``), pooling of the ``T``
token vectors (``flatten`` to ``T * d``, ``mean`` over all ``T`` positions padding
included, or ``sum``), then the dense head. Only the head is trained.

MXNet is imported inside the functions that need it, through
:func:`agnews_pipeline.mxnet_compat.import_mxnet`, so the node module (and with it
``kedro viz build``) can import these configurations without loading MXNet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from agnews_pipeline.classifier import summarize_parameters
from agnews_pipeline.mxnet_compat import import_mxnet

Pooling = Literal["flatten", "mean", "sum"]

# Positions of the layers inside the network (an ``nn.HybridSequential``).
EMBEDDING_LAYER, POOLING_LAYER, HEAD_LAYER = 0, 1, 2

# The key under which MXNetModelDataset finds this family's loader.
MODEL_KIND = "glove_gluonnlp"


class GloveGluonConfig(BaseModel):
    """The ``model`` parameter block of one ``glove_gluonnlp`` approach.

    Attributes:
        pooling: How the token vectors become one vector per article.
        hidden_units: Widths of the ReLU dense layers, in order.
        num_classes: Width of the output layer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pooling: Pooling
    hidden_units: tuple[PositiveInt, ...] = (128, 64)
    num_classes: int = Field(4, ge=2)


class GloveGluonArchitecture(GloveGluonConfig):
    """Everything needed to rebuild a network: the model block and the data's shapes.

    Attributes:
        vocab_size: Rows of the embedding matrix.
        embed_dim: Columns of the embedding matrix (the GloVe dimension).
        max_tokens: Positions per article; the flattened head's input is
            ``max_tokens * embed_dim`` and ``mean`` divides by it.
    """

    vocab_size: int = Field(ge=1)
    embed_dim: int = Field(ge=1)
    max_tokens: int = Field(ge=1)

    @property
    def head_inputs(self) -> int:
        """Width of the pooled vector the first dense layer reads."""
        if self.pooling == "flatten":
            return self.max_tokens * self.embed_dim
        return self.embed_dim


def _pooling_layer(pooling: Pooling) -> Any:
    nn = import_mxnet().gluon.nn
    if pooling == "flatten":
        return nn.Flatten()
    if pooling == "mean":
        # Divides by T: padding positions (zero vectors) count, as in the tutorial.
        return nn.HybridLambda(lambda F, x: F.mean(x, axis=1))
    if pooling == "sum":
        return nn.HybridLambda(lambda F, x: F.sum(x, axis=1))
    raise ValueError(f"Unknown pooling {pooling!r}")


def build_network(architecture: GloveGluonArchitecture) -> Any:
    """Return the uninitialised network ``token_ids (N, T) -> logits (N, classes)``.

    Every layer is given its input width, so parameters have their shapes at
    ``initialize`` time (no deferred initialisation). The embedding's ``grad_req``
    is ``"null"``: autograd never computes, and no optimizer ever sees, its gradient.

    Args:
        architecture: Pooling, layer widths and the data's shapes.

    Returns:
        An ``mxnet.gluon.nn.HybridSequential``: embedding, pooling, dense head.
    """
    nn = import_mxnet().gluon.nn
    network = nn.HybridSequential()
    embedding = nn.Embedding(architecture.vocab_size, architecture.embed_dim)
    embedding.collect_params().setattr("grad_req", "null")
    head = nn.HybridSequential()
    in_units = architecture.head_inputs
    for units in architecture.hidden_units:
        head.add(nn.Dense(units, activation="relu", in_units=in_units))
        in_units = units
    head.add(nn.Dense(architecture.num_classes, in_units=in_units))
    network.add(embedding, _pooling_layer(architecture.pooling), head)
    return network


def named_parameters(network: Any) -> dict[str, Any]:
    """The network's parameters under stable names (``embedding.weight``, ``dense0.bias``).

    Gluon's own parameter names carry process-wide counters (``dense3_weight``), so
    these names, fixed by the architecture, are what copies and pickles rely on.
    """
    head = network[HEAD_LAYER]
    parameters = {"embedding.weight": network[EMBEDDING_LAYER].weight}
    for index in range(len(head)):
        parameters[f"dense{index}.weight"] = head[index].weight
        parameters[f"dense{index}.bias"] = head[index].bias
    return parameters


def network_from_arrays(
    architecture: GloveGluonArchitecture, arrays: dict[str, np.ndarray]
) -> Any:
    """Build a network and set every parameter from ``named_parameters``-keyed arrays."""
    mx = import_mxnet()
    network = build_network(architecture)
    # Zeros, not a random initializer: the values are overwritten and the global
    # MXNet random state stays untouched (copies must not shift a seeded run).
    network.initialize(mx.init.Zero())
    parameters = named_parameters(network)
    if set(arrays) != set(parameters):
        raise ValueError(
            f"Parameters {sorted(arrays)} do not match the architecture's "
            f"{sorted(parameters)}"
        )
    for name, parameter in parameters.items():
        value = np.asarray(arrays[name], dtype=np.float32)
        if value.shape != parameter.shape:
            raise ValueError(
                f"Parameter {name}: shape {value.shape}, the architecture expects "
                f"{parameter.shape}"
            )
        parameter.set_data(mx.nd.array(value, dtype="float32"))
    return network


def copy_network(architecture: GloveGluonArchitecture, network: Any) -> Any:
    """Return an independent network with the same parameter values."""
    mx = import_mxnet()
    copy = build_network(architecture)
    copy.initialize(mx.init.Zero())
    targets = named_parameters(copy)
    for name, parameter in named_parameters(network).items():
        targets[name].set_data(parameter.data())  # set_data copies the values
    return copy


def fit_length(token_ids: np.ndarray, max_tokens: int) -> np.ndarray:
    """Cut or zero-pad ``(N, T)`` token ids at the end to ``(N, max_tokens)``."""
    token_ids = np.asarray(token_ids, dtype=np.int32)
    if token_ids.ndim != 2:
        raise ValueError(f"token_ids must be (N, T), got shape {token_ids.shape}")
    if token_ids.shape[1] >= max_tokens:
        return np.ascontiguousarray(token_ids[:, :max_tokens])
    padding = np.zeros((len(token_ids), max_tokens - token_ids.shape[1]), np.int32)
    return np.concatenate([token_ids, padding], axis=1)


@dataclass(eq=False)
class GloveGluonClassifier:
    """A trained ``glove_gluonnlp`` model, usable through the ``TokenClassifier`` protocol.

    Attributes:
        architecture: What the network is (a dict is validated).
        network: The Gluon network; hybridized on the first ``predict_proba``.
        backend: Always ``"mxnet"``.
        kind: Always ``"glove_gluonnlp"``: the key ``MXNetModelDataset`` loads it by.
    """

    architecture: GloveGluonArchitecture
    network: Any = field(repr=False)
    backend: str = field(default="mxnet", init=False)
    kind: str = field(default=MODEL_KIND, init=False)
    _hybridized: bool = field(default=False, init=False, repr=False)

    # Rows per forward call, so memory stays flat for LIME's and evaluation's batches.
    max_batch_size = 2048

    def __post_init__(self) -> None:
        self.architecture = GloveGluonArchitecture.model_validate(self.architecture)

    @classmethod
    def from_arrays(
        cls,
        architecture: GloveGluonArchitecture | dict[str, Any],
        arrays: dict[str, np.ndarray],
    ) -> GloveGluonClassifier:
        """Rebuild a classifier from its architecture and ``parameter_arrays()``."""
        architecture = GloveGluonArchitecture.model_validate(architecture)
        return cls(architecture, network_from_arrays(architecture, arrays))

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """Copies of every parameter as float32 NumPy arrays, by stable name."""
        return {
            name: parameter.data().asnumpy()
            for name, parameter in named_parameters(self.network).items()
        }

    def config_dict(self) -> dict[str, Any]:
        """The architecture as JSON-ready values (``MXNetModelDataset`` stores them)."""
        return self.architecture.model_dump(mode="json")

    def save_parameters(self, path: str) -> None:
        """Write the parameters with Gluon's ``save_parameters`` to a local ``path``."""
        self.network.save_parameters(path)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (and deep-copy) as the architecture plus NumPy parameters."""
        return {
            "architecture": self.architecture.model_dump(mode="json"),
            "arrays": self.parameter_arrays(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the network from :meth:`__getstate__`'s form."""
        rebuilt = self.from_arrays(state["architecture"], state["arrays"])
        self.__dict__.update(rebuilt.__dict__)

    def parameter_summary(self) -> dict[str, int | bool]:
        """Count the parameters; the GloVe matrix (``grad_req`` null) is frozen."""
        parameters = named_parameters(self.network)
        return summarize_parameters(
            {name: tuple(parameter.shape) for name, parameter in parameters.items()},
            embedding="embedding.weight",
            frozen={
                name
                for name, parameter in parameters.items()
                if parameter.grad_req == "null"
            },
        )

    def predict_proba(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return class probabilities, float32 ``(N, num_classes)``.

        ``lengths`` is accepted for the protocol: the network reads all positions,
        padding included, as the tutorial did, so an all-padding row (LIME removing
        every word) simply pools zero vectors. Rows are cut or padded to
        ``max_tokens`` first, the width the flattened head was trained on.
        """
        del lengths
        mx = import_mxnet()
        token_ids = fit_length(token_ids, self.architecture.max_tokens)
        if len(token_ids) == 0:
            return np.zeros((0, self.architecture.num_classes), dtype=np.float32)
        if not self._hybridized:
            self.network.hybridize(static_alloc=True)
            self._hybridized = True
        parts = []
        for start in range(0, len(token_ids), self.max_batch_size):
            chunk = mx.nd.array(
                token_ids[start : start + self.max_batch_size], dtype="int32"
            )
            parts.append(mx.nd.softmax(self.network(chunk), axis=-1).asnumpy())
        return np.concatenate(parts).astype(np.float32, copy=False)


def load_glove_gluon_classifier(
    config: dict[str, Any], params_path: str
) -> GloveGluonClassifier:
    """Rebuild a classifier from its architecture and a ``save_parameters`` file.

    The ``MXNetModelDataset`` loader of kind ``"glove_gluonnlp"``; Gluon's
    ``load_parameters`` checks every name and shape against the network.
    """
    mx = import_mxnet()
    architecture = GloveGluonArchitecture.model_validate(config)
    network = build_network(architecture)
    network.load_parameters(params_path, ctx=mx.cpu())
    return GloveGluonClassifier(architecture, network)
