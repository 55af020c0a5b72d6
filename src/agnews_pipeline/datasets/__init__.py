"""Custom Kedro datasets: AG News CSV files, GloVe vectors, arrays and trained models."""

from .ag_news_csv_dataset import AGNewsCSVDataset
from .glove_dataset import GloVeDataset
from .haiku_model_dataset import HaikuModelDataset
from .numpy_dataset import NumpyDataset

__all__ = ["AGNewsCSVDataset", "GloVeDataset", "HaikuModelDataset", "NumpyDataset"]
