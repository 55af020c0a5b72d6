"""The approaches the project trains, read from the families' parameter blocks.

Every non-hidden key under a family's top-level parameter key (``rnn_torch.rnn_50``)
is one approach. Its block says what the approach reads (``tokenizer``,
``max_tokens``, ``glove``) and how it is built and trained (``model``, ``training``,
``reference``, ``explanation`` and, for the MXNet families, ``validation``). The
family pipelines, the shared text features and GloVe matrices, the results table's
rows, the ensemble's members and the ``batch_predict`` choices all follow from
these blocks, so a new approach is one YAML block.

Pipelines are registered before any node runs, so the blocks are read from the
parameters of the Kedro session being run (its environment and ``--params``
included) when there is one, else from the project's ``conf/`` (environment from
``KEDRO_ENV``), e.g. for ``kedro registry list``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.config import AbstractConfigLoader
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

# In training-pipeline order; the results table lists families in this order.
FAMILIES = ("glove_haiku", "conv1d_flax", "rnn_torch", "lstm_mxnet", "glove_gluonnlp")

# The family whose GloVe matrices come from GluonNLP's embedding API (its tutorial's
# own route) rather than from the shared glove pipeline.
GLUONNLP_GLOVE_FAMILY = "glove_gluonnlp"

_COMMON_KEYS = frozenset(
    {
        "tokenizer",
        "max_tokens",
        "glove",
        "model",
        "training",
        "reference",
        "explanation",
    }
)
# The MXNet trainers also take a `validation` block (which split early stopping reads).
_FAMILY_KEYS: dict[str, frozenset[str]] = {
    "glove_haiku": _COMMON_KEYS,
    "conv1d_flax": _COMMON_KEYS,
    "rnn_torch": _COMMON_KEYS,
    "lstm_mxnet": _COMMON_KEYS | {"validation"},
    "glove_gluonnlp": _COMMON_KEYS | {"validation"},
}
_REFERENCE_KEYS = frozenset({"test_accuracy"})
# Names become dataset and namespace parts and, joined by KEY_SEPARATOR, node input
# names: identifiers without a double underscore.
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_GLOVE_RELEASE = re.compile(r"^[0-9a-z]+_[0-9]+d$")


# Kedro input names must be identifiers while dataset names use dots, so the results
# table and the ensemble receive ``glove_haiku.mean.metrics`` as ``glove_haiku__mean``.
KEY_SEPARATOR = "__"


def approach_key(family: str, approach: str) -> str:
    """``("glove_haiku", "mean")`` -> ``glove_haiku__mean``."""
    return f"{family}{KEY_SEPARATOR}{approach}"


def split_key(key: str, reader: str) -> tuple[str, str]:
    """``glove_haiku__mean`` -> ``("glove_haiku", "mean")``; ``reader`` names the node's inputs in errors."""
    family, separator, approach = key.partition(KEY_SEPARATOR)
    if not separator or not approach:
        raise ValueError(
            f"{reader} input {key!r} is not named <family>{KEY_SEPARATOR}<approach>"
        )
    return family, approach


@dataclass(frozen=True)
class Approach:
    """One configured approach and the shared artifacts it reads."""

    family: str
    name: str
    tokenizer: str
    max_tokens: int
    glove: str

    @property
    def namespace(self) -> str:
        """``rnn_torch.rnn_50``: its pipeline namespace and parameter path."""
        return f"{self.family}.{self.name}"

    @property
    def feature_set(self) -> str:
        """``basic_english_50``: the token-id matrices it trains on."""
        return f"{self.tokenizer}_{self.max_tokens}"

    @property
    def embedding(self) -> str:
        """``basic_english_6b_50d``: its vocabulary's GloVe matrix."""
        return f"{self.tokenizer}_{self.glove}"

    def shared_inputs(self) -> dict[str, str]:
        """Template input -> the shared dataset that provides it for this approach."""
        return {
            **{
                f"{split}_features": f"{self.feature_set}_{split}_features"
                for split in ("train", "validation", "test")
            },
            "vocabulary": f"{self.tokenizer}_vocabulary",
            "glove_matrix": f"{self.embedding}_glove_matrix",
            "glove_coverage": f"{self.embedding}_glove_coverage",
            "ag_news_test": "ag_news_test",
        }


def parse_approaches(parameters: Mapping[str, Any]) -> dict[str, dict[str, Approach]]:
    """Family -> approach name -> ``Approach``, in YAML order; bad blocks fail here.

    Raises:
        ValueError: Naming the parameter key, if a block lacks a key, has one that
            would do nothing, or names a tokenizer, length or GloVe release that
            cannot exist.
    """
    return {
        family: {
            name: _parse_block(family, name, block)
            for name, block in (parameters.get(family) or {}).items()
        }
        for family in FAMILIES
    }


def _parse_block(family: str, name: str, block: Any) -> Approach:
    where = f"parameter block {family}.{name}"
    if not _NAME.match(str(name)):
        raise ValueError(f"{where}: an approach name must match {_NAME.pattern}")
    if not isinstance(block, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(block).__name__}")
    allowed = _FAMILY_KEYS[family]
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {unknown}; an approach block takes only "
            f"{sorted(allowed)}"
        )
    missing = sorted(allowed - set(block))
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")
    unknown_reference = sorted(set(block["reference"] or {}) - _REFERENCE_KEYS)
    if unknown_reference:
        raise ValueError(
            f"{where}.reference: unknown key(s) {unknown_reference}; it takes only "
            f"{sorted(_REFERENCE_KEYS)} (the tutorial's settings are the "
            "`tutorial` recipe and the model keys documented in the file)"
        )
    # Imported here: the text_features package itself builds on this module.
    from agnews_pipeline.pipelines.text_features.tokenizers import TOKENIZERS  # noqa: PLC0415

    tokenizer, max_tokens, glove = (
        block[key] for key in ("tokenizer", "max_tokens", "glove")
    )
    if tokenizer not in TOKENIZERS:
        raise ValueError(
            f"{where}.tokenizer: {tokenizer!r} is not one of {sorted(TOKENIZERS)}"
        )
    if (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or max_tokens < 1
    ):
        raise ValueError(
            f"{where}.max_tokens: expected a positive integer, got {max_tokens!r}"
        )
    if not isinstance(glove, str) or not _GLOVE_RELEASE.match(glove):
        raise ValueError(
            f"{where}.glove: expected a release such as '6b_50d' or '840b_300d' "
            f"(read from the catalog entry glove_<release>_vectors), got {glove!r}"
        )
    return Approach(family, name, tokenizer, max_tokens, glove)


# --- where the blocks are read from -------------------------------------------------

_session: dict[str, dict[str, Any]] = {}


def use_session_parameters(parameters: Mapping[str, Any]) -> None:
    """Read approaches from these parameters (a project hook passes the session's)."""
    _session["parameters"] = dict(parameters)


def project_parameters() -> dict[str, Any]:
    """The parameters pipelines are registered from: the session's, else ``conf/``."""
    if "parameters" in _session:
        return _session["parameters"]
    return dict(_project_config_loader()["parameters"])


def _project_config_loader() -> AbstractConfigLoader:
    # Not kedro.framework.project's settings: importing it configures logging, which
    # `kedro registry list` and plugins reading the pipelines should not trigger.
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415
    from kedro.utils import find_kedro_project  # noqa: PLC0415

    from agnews_pipeline.settings import CONFIG_LOADER_ARGS  # noqa: PLC0415

    project = find_kedro_project(Path.cwd()) or Path(__file__).resolve().parents[2]
    return OmegaConfigLoader(
        conf_source=str(project / "conf"),
        env=os.environ.get("KEDRO_ENV"),
        **CONFIG_LOADER_ARGS,
    )


def configured_approaches() -> dict[str, dict[str, Approach]]:
    """Family -> approach name -> ``Approach`` from the current configuration."""
    return parse_approaches(project_parameters())


def instantiate(template: Pipeline, approaches: Iterable[Approach]) -> Pipeline:
    """The template once per approach, under its namespace, reading its shared artifacts.

    Only the shared inputs the template reads are mapped; its parameters
    (``params:model``, ``params:max_tokens``...) resolve inside the namespace to
    the approach's own block.
    """
    reads = template.inputs()
    return sum(
        (
            Pipeline(
                template,
                namespace=approach.namespace,
                inputs={
                    name: dataset
                    for name, dataset in approach.shared_inputs().items()
                    if name in reads
                },
            )
            for approach in approaches
        ),
        Pipeline([]),
    )


def every_approach(
    by_family: Mapping[str, Mapping[str, Approach]] | None = None,
) -> list[Approach]:
    """Every approach of every family (the configured ones unless given), in order."""
    if by_family is None:
        by_family = configured_approaches()
    return [approach for family in by_family.values() for approach in family.values()]


class SessionConfigHooks:
    """Register pipelines from the configuration of the session being run."""

    # First: a plugin's hook may read the pipelines, registering them early.
    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        """Remember the session's parameters (environment and ``--params`` included)."""
        # Not context.params: validating those registers the pipelines first.
        use_session_parameters(context.config_loader["parameters"])
