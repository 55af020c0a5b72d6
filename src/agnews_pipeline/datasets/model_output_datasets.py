"""Prediction tables and pickled baseline models.

The ensemble reads every approach's predictions, trained or not: an untrained one
must load as ``None`` rather than fail the run, which ``pandas.ParquetDataset``
cannot do. The baselines' models (a scikit-learn pipeline, a fastText model) are
pickled whole, versioned like every other model.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import pandas as pd

from ._file_dataset import FileDataset


class PredictionsDataset(FileDataset):
    """A predictions table as Parquet; with ``missing_ok`` it loads as ``None`` until saved.

    Example catalog entry::

        "{family}.{approach}.validation_predictions":
          type: agnews_pipeline.datasets.PredictionsDataset
          filepath: data/07_model_output/{family}/{approach}/validation_predictions.parquet
          missing_ok: true
    """

    def __init__(self, *, filepath: str, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._missing_ok = missing_ok

    def load(self) -> pd.DataFrame | None:
        """Read the table; ``None`` if it was never saved and ``missing_ok``."""
        if self._missing_ok and not self._exists():
            return None
        return super().load()

    def _read(self, path: str) -> pd.DataFrame:
        with self._fs.open(path, "rb") as file:
            return pd.read_parquet(file)

    def _write(self, data: pd.DataFrame, path: str) -> None:
        buffer = io.BytesIO()
        data.to_parquet(buffer, index=False)
        with self._fs.open(path, "wb") as file:
            file.write(buffer.getvalue())


class PickleModelDataset(FileDataset):
    """Any picklable model, versioned; the baselines' models are saved with it.

    Only load pickles this project wrote: unpickling runs code.

    Example catalog entry::

        "baselines.{approach}.trained_model":
          type: agnews_pipeline.datasets.PickleModelDataset
          filepath: data/06_models/baselines/{approach}/model.pkl
          versioned: true
    """

    def _read(self, path: str) -> Any:
        with self._fs.open(path, "rb") as file:
            return pickle.load(file)  # noqa: S301

    def _write(self, data: Any, path: str) -> None:
        content = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        with self._fs.open(path, "wb") as file:
            file.write(content)
