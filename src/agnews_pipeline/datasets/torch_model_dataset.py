"""A trained ``rnn_torch`` classifier as one ``.pt`` file, loaded without pickle code."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Mapping
from typing import Any

from kedro.io.core import DatasetError

from ._file_dataset import FileDataset


class TorchModelDataset(FileDataset):
    """Saves an ``RNNClassifier`` as a single ``.pt`` file and loads it back.

    The file is ``torch.save({"config": {...}, "state_dict": {...}})``: the model
    options as plain JSON-like values and the network's ``state_dict``. Loading uses
    ``torch.load(..., weights_only=True)``, which accepts only tensors and plain
    containers, so a model file can never execute code; the network is rebuilt from
    the config and the state dict is loaded strictly (every key, every shape).

    Example catalog entry::

        "rnn_torch.{approach}.trained_model":
          type: agnews_pipeline.datasets.TorchModelDataset
          filepath: data/06_models/rnn_torch/{approach}/model.pt
          versioned: true
    """

    def _read(self, path: str) -> Any:
        import torch  # noqa: PLC0415

        from agnews_pipeline.pipelines.rnn_torch.models import (  # noqa: PLC0415
            RNNClassifier,
        )

        try:
            with self._fs.open(path, "rb") as file:
                payload = torch.load(
                    io.BytesIO(file.read()), map_location="cpu", weights_only=True
                )
        except (
            OSError,
            RuntimeError,
            EOFError,
            ValueError,
            pickle.UnpicklingError,
            zipfile.BadZipFile,
        ) as error:
            raise DatasetError(
                f"TorchModelDataset: '{path}' is not a readable torch model file "
                f"({type(error).__name__}: {error}); re-run the training node to "
                "rewrite it"
            ) from error
        if (
            not isinstance(payload, Mapping)
            or not isinstance(payload.get("config"), Mapping)
            or not isinstance(payload.get("state_dict"), Mapping)
        ):
            found = sorted(payload) if isinstance(payload, Mapping) else type(payload)
            raise DatasetError(
                f"TorchModelDataset: '{path}' is a torch file but not an rnn_torch "
                f"model: it needs a 'config' dict and a 'state_dict', found {found}"
            )
        try:
            return RNNClassifier.from_state_dict(
                dict(payload["config"]), dict(payload["state_dict"])
            )
        except (ValueError, RuntimeError) as error:  # bad config or mismatched weights
            raise DatasetError(
                f"TorchModelDataset: '{path}' has a model configuration or weights "
                f"that do not fit together: {error}"
            ) from error

    def _write(self, data: Any, path: str) -> None:
        import torch  # noqa: PLC0415

        config = getattr(data, "config", None)
        network = getattr(data, "network", None)
        if (
            getattr(data, "backend", None) != "torch"
            or config is None
            or not hasattr(network, "state_dict")
        ):
            raise DatasetError(
                "TorchModelDataset saves an RNNClassifier (backend 'torch', with "
                f"config and network), got {type(data).__name__}"
            )
        if hasattr(config, "model_dump"):
            config = config.model_dump(mode="json")
        buffer = io.BytesIO()
        torch.save({"config": dict(config), "state_dict": network.state_dict()}, buffer)
        with self._fs.open(path, "wb") as file:
            file.write(buffer.getvalue())
