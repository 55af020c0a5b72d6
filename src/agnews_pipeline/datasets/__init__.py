"""Custom Kedro datasets: AG News CSV files, GloVe vectors, arrays and trained models."""

from .ag_news_csv_dataset import AGNewsCSVDataset
from .flax_model_dataset import FlaxModelDataset
from .glove_dataset import GloVeDataset
from .haiku_model_dataset import HaikuModelDataset
from .mxnet_model_dataset import MXNetModelDataset
from .numpy_dataset import NumpyDataset
from .torch_model_dataset import TorchModelDataset

__all__ = [
    "AGNewsCSVDataset",
    "FlaxModelDataset",
    "GloVeDataset",
    "HaikuModelDataset",
    "MXNetModelDataset",
    "NumpyDataset",
    "TorchModelDataset",
]
