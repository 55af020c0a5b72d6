"""Raw AG News CSV -> validated train, validation and test tables."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import prepare_test_split, split_train_validation


def create_pipeline(**kwargs) -> Pipeline:
    """Split train into train and validation; carry test through untouched."""
    return Pipeline(
        [
            Node(
                func=split_train_validation,
                inputs={"train": "ag_news_train_raw", "options": "params:ingestion"},
                outputs=["ag_news_train", "ag_news_validation"],
                name="split_train_validation_node",
            ),
            Node(
                func=prepare_test_split,
                inputs="ag_news_test_raw",
                outputs="ag_news_test",
                name="prepare_test_split_node",
            ),
        ]
    )
