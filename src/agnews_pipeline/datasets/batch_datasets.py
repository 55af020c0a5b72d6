"""Datasets for batch scoring: optional partitions and the predictions CSV files.

``PartitionedDataset`` refuses to load an empty or missing folder, which is the
normal state of an hourly drop folder and of a project that has not built every
vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from kedro_datasets.partitions import PartitionedDataset

from ._file_dataset import FileDataset


class OptionalPartitionedDataset(PartitionedDataset):
    """A lazy ``PartitionedDataset`` that loads an empty or missing folder as ``{}``.

    Example catalog entry::

        batch_incoming_partitions:
          type: agnews_pipeline.datasets.OptionalPartitionedDataset
          path: data/01_raw/incoming
          dataset: text.TextDataset
    """

    def load(self) -> dict[str, Callable[[], Any]]:
        """Map every partition id to its load function; ``{}`` when there is none."""
        self._invalidate_caches()
        if not self._list_partitions():
            return {}
        return super().load()


class AtomicCSVDataset(FileDataset):
    """A DataFrame as CSV (``index=False`` unless ``save_args`` say otherwise).

    Each file appears whole or not at all, as every file the project writes does
    (``agnews_pipeline.atomic_files``); ``pandas.CSVDataset`` is now equally safe,
    and this class stays only because catalog entries name it.

    Example catalog entry::

        batch_predictions:
          type: partitions.PartitionedDataset
          path: data/07_model_output/batch
          filename_suffix: .predictions.csv
          dataset: agnews_pipeline.datasets.AtomicCSVDataset
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._load_args = dict(load_args or {})
        self._save_args = {"index": False, **(save_args or {})}

    def _read(self, path: str) -> pd.DataFrame:
        with self._fs.open(path, "rb") as file:
            return pd.read_csv(file, **self._load_args)

    def _write(self, data: pd.DataFrame, path: str) -> None:
        content = data.to_csv(**self._save_args).encode("utf-8")
        with self._fs.open(path, "wb") as file:
            file.write(content)
