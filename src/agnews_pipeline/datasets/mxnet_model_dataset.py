"""A trained MXNet Gluon classifier as one ``.zip``: its options and ``model.params``.

Shared by every MXNet family. The archive holds two members:

- ``config.json``: ``{"kind": <family>, "format": 1, "model": <the model options>}``;
- ``model.params``: the network's parameters, written by Gluon's
  ``Block.save_parameters`` and read back with ``Block.load_parameters``.

``kind`` selects the loader in :data:`LOADERS`, a ``"module:function"`` imported only
when a model of that kind is loaded (so this module never imports MXNet).

To store a new family's models:

1. give its model object ``backend = "mxnet"``, ``kind = "<family>"``, a
   ``config_dict() -> dict`` (JSON-ready options) and a ``save_parameters(path)``
   that calls Gluon's ``save_parameters`` on its network;
2. write ``load(config: dict, params_path: str) -> model`` that rebuilds the
   network from the options and calls ``load_parameters(params_path)``;
3. add ``"<family>": "<module>:<load>"`` to :data:`LOADERS`.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError

from ._file_dataset import FileDataset

CONFIG_MEMBER = "config.json"
PARAMS_MEMBER = "model.params"
FORMAT_VERSION = 1

# kind -> "module:function" that rebuilds a model from (options, params file path).
LOADERS: dict[str, str] = {
    "lstm_mxnet": "agnews_pipeline.pipelines.lstm_mxnet.models:load_lstm_classifier",
    "glove_gluonnlp": (
        "agnews_pipeline.pipelines.glove_gluonnlp.models:load_glove_gluon_classifier"
    ),
}


def resolve_loader(kind: str) -> Callable[[dict[str, Any], str], Any]:
    """Import the loader registered for ``kind``.

    Raises:
        KeyError: If no loader is registered for ``kind``.
    """
    module_name, _, function = LOADERS[kind].partition(":")
    return getattr(importlib.import_module(module_name), function)


class MXNetModelDataset(FileDataset):
    """Saves an MXNet model as a ``.zip`` of ``config.json`` and ``model.params``.

    Saving needs an object with ``backend == "mxnet"``, ``kind``, ``config_dict()``
    and ``save_parameters(path)``; loading returns what the ``kind``'s loader in
    :data:`LOADERS` builds (a ``TokenClassifier``). Nothing is unpickled.

    Example catalog entry::

        "lstm_mxnet.{approach}.trained_model":
          type: agnews_pipeline.datasets.MXNetModelDataset
          filepath: data/06_models/lstm_mxnet/{approach}/model.zip
          versioned: true
    """

    def _read(self, path: str) -> Any:
        try:
            with self._fs.open(path, "rb") as file, zipfile.ZipFile(file) as archive:
                names = set(archive.namelist())
                if not {CONFIG_MEMBER, PARAMS_MEMBER} <= names:
                    raise DatasetError(
                        f"MXNetModelDataset: '{path}' is a zip archive but not an "
                        f"MXNet model: it needs '{CONFIG_MEMBER}' and "
                        f"'{PARAMS_MEMBER}', found {sorted(names)}"
                    )
                header = json.loads(archive.read(CONFIG_MEMBER))
                params = archive.read(PARAMS_MEMBER)
        except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            raise DatasetError(
                f"MXNetModelDataset: '{path}' is not a readable model archive "
                f"({type(error).__name__}: {error}); re-run the training node to "
                "rewrite it"
            ) from error
        kind = header.get("kind") if isinstance(header, dict) else None
        if kind not in LOADERS or not isinstance(header.get("model"), dict):
            raise DatasetError(
                f"MXNetModelDataset: '{path}' has no loadable model: its "
                f"{CONFIG_MEMBER} needs a 'kind' among {sorted(LOADERS)} and a "
                f"'model' object, got kind {kind!r}"
            )
        with tempfile.TemporaryDirectory(prefix="mxnet-model-") as scratch:
            params_path = Path(scratch) / PARAMS_MEMBER
            params_path.write_bytes(params)
            try:
                return resolve_loader(kind)(header["model"], str(params_path))
            except Exception as error:  # MXNetError, pydantic's and Gluon's checks
                raise DatasetError(
                    f"MXNetModelDataset: '{path}' holds a {kind!r} model that does "
                    f"not load ({type(error).__name__}: {error}); re-run the "
                    "training node to rewrite it"
                ) from error

    def _write(self, data: Any, path: str) -> None:
        kind = getattr(data, "kind", None)
        if (
            getattr(data, "backend", None) != "mxnet"
            or kind not in LOADERS
            or not callable(getattr(data, "config_dict", None))
            or not callable(getattr(data, "save_parameters", None))
        ):
            raise DatasetError(
                "MXNetModelDataset saves an MXNet model (backend 'mxnet', a kind "
                f"among {sorted(LOADERS)}, config_dict() and save_parameters()), "
                f"got {type(data).__name__}"
            )
        header = {"kind": kind, "format": FORMAT_VERSION, "model": data.config_dict()}
        with tempfile.TemporaryDirectory(prefix="mxnet-model-") as scratch:
            params_path = Path(scratch) / PARAMS_MEMBER
            data.save_parameters(str(params_path))
            with (
                self._fs.open(path, "wb") as file,
                # Float weights barely compress; storing keeps saves and loads fast.
                zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive,
            ):
                archive.writestr(CONFIG_MEMBER, json.dumps(header, sort_keys=True))
                archive.write(params_path, PARAMS_MEMBER)
