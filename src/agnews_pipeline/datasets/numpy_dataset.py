"""NumPy arrays in the catalog: one array as ``.npy``, a dict of arrays as ``.npz``."""

from __future__ import annotations

from typing import Any

import numpy as np
from kedro.io.core import DatasetError

from ._file_dataset import FileDataset


class NumpyDataset(FileDataset):
    """Saves an ``np.ndarray`` (``.npy``) or a ``dict[str, np.ndarray]`` (``.npz``).

    Example catalog entry::

        text_features.keras_50.train_features:
          type: agnews_pipeline.datasets.NumpyDataset
          filepath: data/04_feature/text_features/keras_50/train.npz
    """

    def _is_archive(self) -> bool:
        return str(self._filepath).endswith(".npz")

    def _read(self, path: str) -> np.ndarray | dict[str, np.ndarray]:
        with self._fs.open(path, "rb") as file:
            loaded = np.load(file, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    return {key: loaded[key] for key in loaded.files}
            return loaded

    def _write(self, data: Any, path: str) -> None:
        if self._is_archive():
            if not isinstance(data, dict):
                raise DatasetError(
                    f"NumpyDataset '{self._filepath}' (.npz) expects a dict of arrays, "
                    f"got {type(data).__name__}"
                )
            with self._fs.open(path, "wb") as file:
                np.savez(file, **{key: np.asarray(value) for key, value in data.items()})
            return
        if not isinstance(data, np.ndarray):
            raise DatasetError(
                f"NumpyDataset '{self._filepath}' (.npy) expects an ndarray, "
                f"got {type(data).__name__}"
            )
        with self._fs.open(path, "wb") as file:
            np.save(file, data, allow_pickle=False)
