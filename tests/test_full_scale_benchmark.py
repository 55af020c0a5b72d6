"""The full-size benchmark's pure parts: FLOPs counters, data generator, results files.

Every expected FLOPs figure is worked out by hand in the test (a multiply-add is 2,
backward = 2 x forward); no kedro run happens here.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from agnews_pipeline.datasets import AGNewsCSVDataset
from tools.sandbox import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT / "benchmarks"


def _benchmark_module(name: str) -> ModuleType:
    """Import a module of ``benchmarks/``, which the scripts import as siblings."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


flops = _benchmark_module("_flops")
full_scale = _benchmark_module("full_scale")
harness = _benchmark_module("_harness")


# --- FLOPs of one forward pass per example -------------------------------------------


def test_dense_chain_counts_every_layer():
    # 10 -> 3 -> 2: 2*10*3 + 2*3*2
    assert flops.dense_chain_flops(10, [3, 2]) == 60 + 12


def test_conv1d_single():
    model = {"architecture": "single", "embed_dim": 4, "conv_features": 3, "kernel_size": 2}
    # conv 'SAME' over 5 steps: 2*k*c_in*c_out*L = 2*2*4*3*5 = 240; dense 2*3*4 = 24
    assert flops.conv1d_flax_flops(model, max_tokens=5, embed_dim=4) == 240 + 24


def test_conv1d_double_reads_the_pooled_length():
    model = {"architecture": "double", "embed_dim": 4, "conv_features": 3,
             "kernel_size": 2, "pool_window": 2, "pool_stride": 1}  # fmt: skip
    # conv1 240; pool 'VALID' window 2 stride 1: 5 -> 4 steps; conv2 2*2*3*3*4 = 144
    assert flops.conv1d_flax_flops(model, max_tokens=5, embed_dim=4) == 240 + 144 + 24


def test_conv1d_single_project_config():
    model = {"architecture": "single", "embed_dim": 128, "conv_features": 32, "kernel_size": 7}
    # 2*7*128*32*50 = 2,867,200 for the convolution, 2*32*4 = 256 for the dense layer
    assert flops.conv1d_flax_flops(model, max_tokens=50, embed_dim=128) == 2_867_456


@pytest.mark.parametrize(
    ("pooling", "expected"),
    [
        ("flatten", 2 * 6 * 5 + 2 * 5 * 4),  # 3 tokens x 2 dims = 6 inputs
        ("mean", 2 * 2 * 5 + 2 * 5 * 4),
        ("sum", 2 * 2 * 5 + 2 * 5 * 4),
    ],
)
def test_glove_haiku(pooling, expected):
    model = {"pooling": pooling, "hidden_units": 5}
    assert flops.glove_haiku_flops(model, max_tokens=3, embed_dim=2) == expected


def test_glove_gluonnlp_uses_the_embedding_width_it_is_given():
    model = {"pooling": "mean", "hidden_units": [3, 2]}
    # 4 -> 3 -> 2 -> 4 classes: 24 + 12 + 16
    assert flops.glove_gluonnlp_flops(model, max_tokens=7, embed_dim=4) == 52
    flat = {"pooling": "flatten", "hidden_units": [3, 2]}
    # 7 tokens x 4 dims = 28 inputs: 2*28*3 = 168
    assert flops.glove_gluonnlp_flops(flat, max_tokens=7, embed_dim=4) == 168 + 12 + 16


def test_rnn_two_layer_bidirectional():
    model = {"embed_dim": 2, "hidden_sizes": [3], "num_layers": 2, "bidirectional": True}
    # layer 1: 2*(2+3)*3 = 30 per step and direction, x 4 steps x 2 directions = 240
    # layer 2 reads 2*3 = 6: 2*(6+3)*3 = 54, x 8 = 432; classifier 2*6*4 = 48
    assert flops.rnn_torch_flops(model, max_tokens=4, embed_dim=2) == 240 + 432 + 48


def test_rnn_stacked_modules_chain_their_widths():
    model = {"embed_dim": 2, "hidden_sizes": [2, 3]}
    # module 1: 2*(2+2)*2 = 16 x 2 steps; module 2 reads 2: 2*(2+3)*3 = 30 x 2 steps
    assert flops.rnn_torch_flops(model, max_tokens=2, embed_dim=2) == 32 + 60 + 2 * 3 * 4


def test_lstm_has_four_gates_and_an_optional_dense_layer():
    model = {"embed_dim": 2, "hidden_sizes": [3], "dense_units": 5}
    # 4 gates x 2*(2+3)*3 = 120 per step, x 2 steps = 240; dense 2*3*5; output 2*5*4
    assert flops.lstm_mxnet_flops(model, max_tokens=2, embed_dim=2) == 240 + 30 + 40
    no_dense = {**model, "dense_units": None}
    assert flops.lstm_mxnet_flops(no_dense, max_tokens=2, embed_dim=2) == 240 + 24


def test_lstm_bidirectional_layers_read_both_directions():
    model = {"embed_dim": 2, "hidden_sizes": [3], "num_layers": 2,
             "bidirectional": True, "dense_units": 5}  # fmt: skip
    # layer 1: 120 per step and direction x 2 steps x 2 = 480
    # layer 2 reads 6: 4*2*(6+3)*3 = 216, x 4 = 864; dense 2*6*5 = 60; output 40
    assert flops.lstm_mxnet_flops(model, max_tokens=2, embed_dim=2) == 480 + 864 + 60 + 40


def test_epoch_is_three_forward_passes_per_train_row():
    assert flops.epoch_flops(100, 10) == 3_000


def test_every_family_has_a_counter():
    from agnews_pipeline.approaches import FAMILIES  # noqa: PLC0415

    assert set(flops.FORWARD_FLOPS) == set(FAMILIES)


# --- the train file --------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A 2,000-row train file and the official test file, as the script writes them."""
    return full_scale.write_data(tmp_path_factory.mktemp("ag_news"), 2_000, seed=0)


def test_train_file_has_the_rows_asked_for_in_the_release_format(generated):
    # The project's strict reader: three quoted fields, class index 1-4, per row.
    train = AGNewsCSVDataset(filepath=str(generated / "train.csv")).load()
    assert len(train) == 2_000
    assert set(train["label"]) == {0, 1, 2, 3}
    first = (generated / "train.csv").read_text("utf-8").splitlines()[0]
    assert first[:4] in {'"1",', '"2",', '"3",', '"4",'}  # no header


def test_train_file_keeps_the_class_balance_within_sampling(generated):
    shares = AGNewsCSVDataset(filepath=str(generated / "train.csv")).load()[
        "label"
    ].value_counts(normalize=True)
    # The source is 4,000 per class; the share of 2,000 draws has a std of about 1 %.
    assert shares.between(0.20, 0.30).all()


def test_train_rows_are_source_articles(generated):
    source = AGNewsCSVDataset(filepath=str(full_scale.SOURCE / "train.csv")).load()
    train = AGNewsCSVDataset(filepath=str(generated / "train.csv")).load()
    known = set(zip(source["label"], source["title"], source["description"], strict=True))
    assert set(zip(train["label"], train["title"], train["description"], strict=True)) <= known


def test_test_file_is_the_official_one_unchanged(generated):
    official = (full_scale.SOURCE / "test.csv").read_bytes()
    assert (generated / "test.csv").read_bytes() == official


def test_resampling_is_seeded():
    source = AGNewsCSVDataset(filepath=str(full_scale.SOURCE / "train.csv")).load().head(50)
    same = full_scale.resample(source, 30, seed=1).equals(full_scale.resample(source, 30, seed=1))
    other = full_scale.resample(source, 30, seed=1).equals(full_scale.resample(source, 30, seed=2))
    assert same and not other
    assert list(full_scale.resample(source, 30, seed=1).columns) == [
        "label", "title", "description"
    ]  # fmt: skip


# --- configuration and results ---------------------------------------------------------


def test_train_checksum_is_dropped_and_the_test_one_kept():
    catalog = yaml.safe_load((PROJECT_ROOT / full_scale.FULL_CATALOG).read_text("utf-8"))
    changed = full_scale.without_train_checksum(catalog)
    assert changed["ag_news_train_raw"]["md5"] is None
    assert changed["ag_news_test_raw"]["md5"] == catalog["ag_news_test_raw"]["md5"]
    assert catalog["ag_news_train_raw"]["md5"]  # the original is untouched


def test_params_parse_as_kedro_run_does():
    assert full_scale.parse_params("") == {}
    assert full_scale.parse_params("a.b.epochs=1, a.c=x") == {"a": {"b": {"epochs": 1}, "c": "x"}}


def test_results_of_a_validation_run_never_overwrite_the_real_ones():
    assert full_scale.results_stem(120_000) == "full_scale"
    assert full_scale.results_stem(4_000) == "full_scale_4000"
    assert full_scale.results_stem(120_000, "a.b=1") == "full_scale_reduced"
    assert full_scale.results_stem(4_000, "a.b=1") == "full_scale_4000_reduced"


def _metrics(seconds_per_epoch: float, epochs: int = 4, stopped: bool = True) -> dict:
    return {
        "epochs": epochs,
        "seconds_per_epoch": seconds_per_epoch,
        "train_seconds": seconds_per_epoch * epochs,
        "max_tokens": 5,
        "embedding": {"dimension": 4},
        "history": {"stopped_early": stopped, "recipe": {"recipe": "project", "epochs": 20}},
    }


def test_approach_figures_from_metrics():
    model = {"architecture": "single", "embed_dim": 4, "conv_features": 3, "kernel_size": 2}
    figures = full_scale.approach_figures("conv1d_flax", model, _metrics(2.0), train_rows=100)
    # 264 FLOPs forward per example (test_conv1d_single) x 3 x 100 rows
    assert figures["flops_per_epoch"] == 79_200
    assert figures["examples_per_second"] == 50.0
    assert figures["gflops_per_second"] == round(79_200 / 2.0 / 1e9, 3)
    assert (figures["epochs"], figures["max_epochs"], figures["stopped_early"]) == (4, 20, True)
    untrained = full_scale.approach_figures("conv1d_flax", model, None, train_rows=100)
    assert untrained == {"trained": False, "epochs": None, "seconds_per_epoch": None,
                         "flops_per_epoch": None}  # fmt: skip


def _figures(seconds: float, stopped: bool = True) -> dict:
    return {"trained": True, "seconds_per_epoch": seconds, "epochs": 4, "max_epochs": 20,
            "stopped_early": stopped}  # fmt: skip


def test_targets_met_and_not_met():
    approaches = {
        "rnn_torch.birnn_3layer": _figures(30.0),
        "rnn_torch.rnn_3layer": _figures(11.0),
        "rnn_torch.rnn_stacked": _figures(13.0),  # over 12 s: the shared row fails
        "lstm_mxnet.lstm_50": _figures(9.0),
        "lstm_mxnet.bilstm_3layer": _figures(100.0, stopped=False),  # ran every epoch
        # conv1d_single is absent: not trained
    }
    checks = full_scale.target_checks(3_000, approaches, all_trained=True)
    met = {check["what"]: check["met"] for check in checks}
    assert met == {
        "whole reproduction, every approach + baselines + report": True,
        "birnn_3layer s/epoch": True,
        "rnn_3layer, rnn_stacked s/epoch": False,
        "lstm_50 s/epoch": True,
        "bilstm_3layer s/epoch": False,
        "conv1d_single s/epoch": False,
    }
    assert not full_scale.target_checks(3_000, approaches, all_trained=False)[0]["met"]
    assert not full_scale.target_checks(3_700, approaches, all_trained=True)[0]["met"]
    assert "conv1d_single not trained" in checks[-1]["measured"]
    reduced = full_scale.target_checks(600, approaches, all_trained=True, reduced=True)
    assert reduced[0]["met"] is None and reduced[0]["measured"] == "10.0 min (reduced run)"
    assert [check["met"] for check in reduced[1:]] == [check["met"] for check in checks[1:]]


def test_a_verdict_says_yes_no_or_not_measured():
    assert [full_scale._verdict(met) for met in (True, False, None)] == [
        "yes",
        "**no**",
        "not measured",
    ]


def test_render_states_setting_targets_approaches_and_nodes():
    model = {"architecture": "single", "embed_dim": 4, "conv_features": 3, "kernel_size": 2}
    approaches = {
        "conv1d_flax.conv1d_single": full_scale.approach_figures(
            "conv1d_flax", model, _metrics(2.0), train_rows=100, peak_memory_mib=900.0
        ),
        "rnn_torch.rnn_50": full_scale.approach_figures("rnn_torch", {}, None, train_rows=100),
    }
    summary = {
        "setting": {"train_file_rows": 4_000, "seed": 42, "params": "a.b=1",
                    "machine": "Some CPU, 2 cores, Python 3.11", "measured_at": "2026-12-03"},
        "splits": {"train": 3_800, "validation": 200, "test": 7_600},
        "total_seconds": 600.0,
        "peak_memory_mib": 2_000.0,
        "approaches": approaches,
        "nodes": full_scale.node_figures({"a": {"seconds": 1.0}, "b": {"seconds": 60.0}}),
        "targets": full_scale.target_checks(600.0, approaches, all_trained=False),
    }  # fmt: skip
    text = "\n".join(full_scale.render(summary))
    assert "4,000 train rows" in text and "Some CPU, 2 cores" in text
    assert '- Options: `--params "a.b=1"` (a reduced run)' in text
    assert "**10.0 min** wall" in text
    assert "| `conv1d_flax.conv1d_single` | project | 4 of 20, stopped early | 2.00 | 50 |" in text
    assert "| `rnn_torch.rnn_50` | not trained |" in text
    # Slowest node first, with its share of the run.
    assert text.index("| `b` | 60.0 | 10.0% |") < text.index("| `a` | 1.0 |")


def test_cpu_model_from_cpuinfo():
    cpuinfo = "processor\t: 0\nmodel name\t: Example CPU @ 3.00GHz\nflags\t: avx2\n"
    assert harness.cpu_model(cpuinfo) == "Example CPU @ 3.00GHz"
    assert harness.cpu_model("processor\t: 0\n") is None
