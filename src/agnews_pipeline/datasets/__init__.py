"""Custom Kedro datasets: AG News CSV files, GloVe vectors, arrays, models, reports, node records."""

from .ag_news_csv_dataset import AGNewsCSVDataset
from .batch_datasets import AtomicCSVDataset, OptionalPartitionedDataset
from .flax_model_dataset import FlaxModelDataset
from .glove_dataset import GloVeDataset
from .haiku_model_dataset import HaikuModelDataset
from .json_report_dataset import JSONReportDataset
from .model_output_datasets import PickleModelDataset, PredictionsDataset
from .mxnet_model_dataset import MXNetModelDataset
from .node_records_dataset import NodeRecordsDataset
from .numpy_dataset import NumpyDataset
from .torch_model_dataset import TorchModelDataset
from .trained_models_dataset import TrainedModelsDataset

__all__ = [
    "AGNewsCSVDataset",
    "AtomicCSVDataset",
    "FlaxModelDataset",
    "GloVeDataset",
    "HaikuModelDataset",
    "JSONReportDataset",
    "MXNetModelDataset",
    "NodeRecordsDataset",
    "NumpyDataset",
    "OptionalPartitionedDataset",
    "PickleModelDataset",
    "PredictionsDataset",
    "TorchModelDataset",
    "TrainedModelsDataset",
]
