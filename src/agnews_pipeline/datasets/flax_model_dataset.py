"""A trained ``conv1d_flax`` classifier as one ``.msgpack`` file, readable without pickle."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from kedro.io.core import DatasetError

from ._file_dataset import FileDataset

CONFIG_KEY = "config"
PARAMS_KEY = "params"


def _is_param_tree(tree: Any) -> bool:
    """True for ``{module: {name: ndarray}}`` with at least one leaf."""
    return (
        isinstance(tree, dict)
        and bool(tree)
        and all(
            isinstance(leaves, dict)
            and bool(leaves)
            and all(isinstance(leaf, np.ndarray) for leaf in leaves.values())
            for leaves in tree.values()
        )
    )


class FlaxModelDataset(FileDataset):
    """Saves a ``Conv1DClassifier`` as a single ``.msgpack`` and loads it back.

    The file is ``flax.serialization.msgpack_serialize`` of
    ``{"config": <model options as a JSON string>, "params": <the Flax params
    collection, {module: {name: array}}>}``. Arrays are stored as raw bytes with
    their dtype and shape (Flax's msgpack extension), so loading executes no code
    and restores every parameter bit for bit.

    Example catalog entry::

        "conv1d_flax.{approach}.trained_model":
          type: agnews_pipeline.datasets.FlaxModelDataset
          filepath: data/06_models/conv1d_flax/{approach}/model.msgpack
          versioned: true
    """

    def _read(self, path: str) -> Any:
        import msgpack  # noqa: PLC0415 - flax's dependency, loaded with it
        from flax.serialization import msgpack_restore  # noqa: PLC0415

        from agnews_pipeline.pipelines.conv1d_flax.models import (  # noqa: PLC0415
            Conv1DClassifier,
        )

        with self._fs.open(path, "rb") as file:
            encoded = file.read()
        try:
            state = msgpack_restore(encoded)
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            msgpack.UnpackException,
        ) as error:
            raise DatasetError(
                f"FlaxModelDataset: '{path}' is not a readable .msgpack model file "
                f"({type(error).__name__}: {error}); re-run the training node to "
                "rewrite it"
            ) from error
        if (
            not isinstance(state, dict)
            or not isinstance(state.get(CONFIG_KEY), str)
            or not _is_param_tree(state.get(PARAMS_KEY))
        ):
            found = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise DatasetError(
                f"FlaxModelDataset: '{path}' is msgpack but not a Flax model: it "
                f"needs a '{CONFIG_KEY}' JSON string and '{PARAMS_KEY}' "
                f"{{module: {{name: array}}}}, found {found}"
            )
        try:
            return Conv1DClassifier(
                config=json.loads(state[CONFIG_KEY]), params=state[PARAMS_KEY]
            )
        except ValueError as error:  # bad JSON or a config pydantic rejects
            raise DatasetError(
                f"FlaxModelDataset: '{path}' has an invalid model configuration: "
                f"{error}"
            ) from error

    def _write(self, data: Any, path: str) -> None:
        from flax.serialization import msgpack_serialize  # noqa: PLC0415

        config = getattr(data, "config", None)
        params = getattr(data, "params", None)
        if getattr(data, "backend", None) != "flax" or config is None or not params:
            raise DatasetError(
                "FlaxModelDataset saves a Conv1DClassifier (backend 'flax', with "
                f"config and params), got {type(data).__name__}"
            )
        if hasattr(config, "model_dump"):
            config = config.model_dump(mode="json")
        state = {
            CONFIG_KEY: json.dumps(config, sort_keys=True),
            PARAMS_KEY: {
                module: {name: np.asarray(leaf) for name, leaf in leaves.items()}
                for module, leaves in params.items()
            },
        }
        with self._fs.open(path, "wb") as file:
            file.write(msgpack_serialize(state))
