"""A trained ``glove_haiku`` classifier as one ``.npz`` file, readable without pickle."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import numpy as np
from kedro.io.core import DatasetError

from ._file_dataset import FileDataset

PARAMS_PREFIX = "params/"
CONFIG_KEY = "__config__"


def flatten_haiku_params(params: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    """``{module: {name: array}}`` -> ``{"params/<module>/<name>": array}``."""
    return {
        f"{PARAMS_PREFIX}{module}/{name}": np.asarray(value)
        for module, leaves in params.items()
        for name, value in leaves.items()
    }


def unflatten_haiku_params(
    flat: dict[str, np.ndarray],
) -> dict[str, dict[str, np.ndarray]]:
    """Invert :func:`flatten_haiku_params`; module names may contain ``/``."""
    params: dict[str, dict[str, np.ndarray]] = {}
    for key, value in flat.items():
        module, _, name = key.removeprefix(PARAMS_PREFIX).rpartition("/")
        params.setdefault(module, {})[name] = value
    return params


class HaikuModelDataset(FileDataset):
    """Saves a ``GloveHaikuClassifier`` as a single ``.npz`` and loads it back.

    The archive holds one array per Haiku parameter, under
    ``params/<module>/<name>`` (e.g. ``params/linear/w``), and the model options
    as a JSON string in the 0-d unicode array ``__config__``. Loading uses
    ``allow_pickle=False``, so a model file can never execute code.

    Example catalog entry::

        "glove_haiku.{approach}.trained_model":
          type: agnews_pipeline.datasets.HaikuModelDataset
          filepath: data/06_models/glove_haiku/{approach}/model.npz
          versioned: true
    """

    def _read(self, path: str) -> Any:
        from agnews_pipeline.pipelines.glove_haiku.models import (  # noqa: PLC0415
            GloveHaikuClassifier,
        )

        try:
            with (
                self._fs.open(path, "rb") as file,
                np.load(file, allow_pickle=False) as archive,
            ):
                arrays = {key: archive[key] for key in archive.files}
        except (
            OSError,
            ValueError,
            zipfile.BadZipFile,
            AttributeError,
            TypeError,
        ) as error:
            raise DatasetError(
                f"HaikuModelDataset: '{path}' is not a readable .npz model archive "
                f"({type(error).__name__}: {error}); re-run the training node to "
                "rewrite it"
            ) from error
        config_array = arrays.get(CONFIG_KEY)
        params = {k: v for k, v in arrays.items() if k.startswith(PARAMS_PREFIX)}
        if config_array is None or config_array.ndim != 0 or not params:
            raise DatasetError(
                f"HaikuModelDataset: '{path}' is an .npz archive but not a Haiku "
                f"model: it needs a 0-d '{CONFIG_KEY}' string and "
                f"'{PARAMS_PREFIX}<module>/<name>' arrays, found keys {sorted(arrays)}"
            )
        try:
            return GloveHaikuClassifier(
                config=json.loads(str(config_array)),
                params=unflatten_haiku_params(params),
            )
        except ValueError as error:  # bad JSON or a config pydantic rejects
            raise DatasetError(
                f"HaikuModelDataset: '{path}' has an invalid model configuration: "
                f"{error}"
            ) from error

    def _write(self, data: Any, path: str) -> None:
        config = getattr(data, "config", None)
        params = getattr(data, "params", None)
        if getattr(data, "backend", None) != "haiku" or config is None or not params:
            raise DatasetError(
                "HaikuModelDataset saves a GloveHaikuClassifier (backend 'haiku', "
                f"with config and params), got {type(data).__name__}"
            )
        if hasattr(config, "model_dump"):
            config = config.model_dump(mode="json")
        arrays = flatten_haiku_params(params)
        arrays[CONFIG_KEY] = np.array(json.dumps(config, sort_keys=True))
        with self._fs.open(path, "wb") as file:
            np.savez(file, **arrays)
