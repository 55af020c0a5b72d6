"""The validation split: stratified, seeded, disjoint, copies together; test untouched."""

import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.model_selection import train_test_split

from agnews_pipeline.pipelines.ingestion.nodes import (
    IngestionOptions,
    prepare_test_split,
    split_train_validation,
)


@pytest.fixture
def train():
    labels = [label for label in range(4) for _ in range(100)]
    return pd.DataFrame(
        {"label": labels, "text": [f"article {i}" for i in range(len(labels))]}
    )


def test_validation_is_stratified_disjoint_and_in_file_order(train):
    kept, validation = split_train_validation(train, {"validation_fraction": 0.05, "seed": 1})
    assert len(kept) == 380 and len(validation) == 20
    assert validation["label"].value_counts().to_dict() == {0: 5, 1: 5, 2: 5, 3: 5}
    assert set(kept["text"]).isdisjoint(validation["text"])
    assert set(kept["text"]) | set(validation["text"]) == set(train["text"])
    order = {text: i for i, text in enumerate(train["text"])}
    assert kept["text"].map(order).is_monotonic_increasing
    assert list(kept.index) == list(range(380))


def test_same_seed_same_split_other_seed_other_split(train):
    first = split_train_validation(train, IngestionOptions(seed=7))[1]
    again = split_train_validation(train, IngestionOptions(seed=7))[1]
    other = split_train_validation(train, IngestionOptions(seed=8))[1]
    pd.testing.assert_frame_equal(first, again)
    assert set(first["text"]) != set(other["text"])


def test_options_name_the_bad_key():
    with pytest.raises(ValidationError, match="validation_fraction"):
        IngestionOptions.model_validate({"validation_fraction": 1.5})
    with pytest.raises(ValidationError, match="validation_share"):
        IngestionOptions.model_validate({"validation_share": 0.1})


def test_test_split_passes_through_with_a_fresh_index():
    test = pd.DataFrame({"label": [1, 2], "text": ["a", "b"]}, index=[10, 11])
    prepared = prepare_test_split(test)
    assert list(prepared.index) == [0, 1]
    assert prepared["text"].tolist() == ["a", "b"]


def test_copies_of_an_article_stay_on_one_side(train):
    # Every article three times, shuffled: validation must hold whole articles only.
    copies = pd.concat([train] * 3).sample(frac=1.0, random_state=0).reset_index(drop=True)
    kept, validation = split_train_validation(copies, IngestionOptions(seed=3))
    assert set(kept["text"]).isdisjoint(validation["text"])
    assert len(validation) == 60 and validation["text"].value_counts().eq(3).all()
    assert validation["label"].value_counts().to_dict() == {0: 15, 1: 15, 2: 15, 3: 15}
    assert len(kept) + len(validation) == len(copies)


def test_distinct_articles_split_as_a_plain_stratified_draw(train):
    _, expected = train_test_split(
        train, test_size=0.05, stratify=train["label"], random_state=5
    )
    validation = split_train_validation(train, IngestionOptions(seed=5))[1]
    assert validation["text"].tolist() == train.loc[sorted(expected.index), "text"].tolist()
