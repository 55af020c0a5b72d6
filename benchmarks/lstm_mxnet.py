"""Benchmark the `lstm_mxnet` family and record a results table in the repository.

Usage:
    python benchmarks/lstm_mxnet.py                   # full AG News (AGNEWS_DATA_DIR)
    python benchmarks/lstm_mxnet.py --data sample     # the bundled sample
    python benchmarks/lstm_mxnet.py --data sample --skip-synthetic
    python benchmarks/lstm_mxnet.py --data sample --synthetic-threads default 2

The full-data run needs the official train.csv and test.csv in AGNEWS_DATA_DIR (default
../shared/data/ag_news); where train.csv is absent the script says so and stops. Runs
happen in a scratch copy of the project, so the working data/ is untouched: first the
shared stages (`--pipelines=text_features,glove`), then every approach alone (`--namespaces`,
upstream artifacts reused), once per readout: the default `last_token`, the tutorial's
`last_position` and, for the bidirectional approaches, `last_token_position`. Each
run's wall
time and peak memory are measured.

Then, unless `--skip-synthetic`, one epoch of `bilstm_3layer` and of `lstm_50` on
synthetic full-size data (114,000 x 50 token ids, a 65,000-word vocabulary, 6,000
validation rows), each in a fresh process, to check the issue's target: a
`bilstm_3layer` epoch well under the tutorial's 5.8 minutes. MXNet uses half the
processors by default (it assumes hyper-threading); `--synthetic-threads default 2`
repeats the synthetic epochs with the default and with OMP_NUM_THREADS=2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from _harness import data_settings, run_measured

from tools.sandbox import KEDRO, PROJECT_ROOT, copy_project, latest

FAMILY = "lstm_mxnet"
APPROACHES = {
    "lstm_25": "word_regex_25",
    "lstm_50": "word_regex_50",
    "bilstm": "word_regex_50",
    "lstm_3layer": "word_regex_50",
    "lstm_stacked": "word_regex_50",
    "bilstm_3layer": "word_regex_50",
}
BIDIRECTIONAL = ("bilstm", "bilstm_3layer")
SYNTHETIC = ("bilstm_3layer", "lstm_50")
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
TUTORIAL_EPOCH_SECONDS = {"bilstm_3layer": 5.8 * 60}


def _synthetic_epoch(approach: str) -> None:
    """Train one epoch of ``approach`` on synthetic full-size data; print its timing."""
    import yaml  # noqa: PLC0415

    from agnews_pipeline.pipelines.lstm_mxnet.models import LSTMConfig  # noqa: PLC0415
    from agnews_pipeline.pipelines.lstm_mxnet.train import (  # noqa: PLC0415
        train_lstm_classifier,
    )
    from agnews_pipeline.training import TrainingOptions  # noqa: PLC0415

    rng = np.random.default_rng(0)
    vocab_size, max_tokens = 65_000, 50

    def features(rows: int) -> dict[str, np.ndarray]:
        # AG News word_regex lengths: median 38 tokens, about 12 % cut at 50.
        lengths = np.minimum(rng.normal(38, 10, rows).round(), max_tokens)
        lengths = np.maximum(lengths, 1).astype(np.int32)
        ids = rng.integers(1, vocab_size, (rows, max_tokens)).astype(np.int32)
        ids[np.arange(max_tokens)[None, :] >= lengths[:, None]] = 0
        labels = rng.integers(0, 4, rows).astype(np.int32)
        return {"token_ids": ids, "lengths": lengths, "labels": labels}

    parameters = PROJECT_ROOT / "conf" / "base" / f"parameters_{FAMILY}.yml"
    block = yaml.safe_load(parameters.read_text(encoding="utf-8"))[FAMILY][approach]
    options = TrainingOptions.model_validate(
        # Synthetic ids have no words, hence no GloVe rows: the random start.
        {
            **block["training"],
            "epochs": 1,
            "embedding_init": "random",
            "progress_bar": False,
        }
    )
    train = features(114_000)
    started = time.process_time()
    _, history = train_lstm_classifier(
        train,
        features(6_000),
        vocab_size,
        LSTMConfig.model_validate(block["model"]),
        options,
        name=f"{FAMILY}.{approach} (synthetic)",
    )
    cpu_seconds = time.process_time() - started
    timing = {"seconds": history["seconds"][0], "cpu_seconds": cpu_seconds}
    print(json.dumps(timing))  # noqa: T201 - read by the parent process


def _approach_runs(
    project: Path,
    data_dir: Path,
    kedro_env: list[str],
    env: dict[str, str],
    epochs: int | None,
) -> list[dict]:
    rows = []
    for approach, feature_set in APPROACHES.items():
        readouts = ["last_token", "last_position"]
        if approach in BIDIRECTIONAL:
            readouts.append("last_token_position")
        train_rows = len(
            np.load(data_dir / "04_feature/text_features" / feature_set / "train.npz")[
                "labels"
            ]
        )
        for readout in readouts:
            overrides = [f"{FAMILY}.{approach}.model.readout={readout}"]
            if epochs is not None:
                overrides.append(f"{FAMILY}.{approach}.training.epochs={epochs}")
            seconds, peak, _ = run_measured(
                [
                    KEDRO,
                    "run",
                    *kedro_env,
                    f"--pipelines={FAMILY}",
                    f"--namespaces={FAMILY}.{approach}",
                    "--params",
                    ",".join(overrides),
                ],
                project,
                env,
            )
            reporting = data_dir / "08_reporting" / FAMILY / approach
            metrics = json.loads(latest(reporting / "metrics.json").read_text())
            rows.append(
                {
                    "approach": approach,
                    "readout": readout,
                    "metrics": metrics,
                    "train_rows": train_rows,
                    "run_seconds": seconds,
                    "peak": peak,
                }
            )
            print(  # noqa: T201 - progress of a long benchmark
                f"{approach} {readout}: test {metrics['test_accuracy']:.4f}, "
                f"{metrics['seconds_per_epoch']:.2f} s/epoch, {seconds:.0f} s run",
                flush=True,
            )
    return rows


def _synthetic_runs(thread_settings: list[str]) -> list[dict]:
    rows = []
    for threads in thread_settings:
        env = {} if threads == "default" else {"OMP_NUM_THREADS": threads}
        for approach in SYNTHETIC:
            seconds, peak, stdout = run_measured(
                [sys.executable, __file__, "--synthetic-only", approach],
                PROJECT_ROOT,
                env,
            )
            timing = json.loads(stdout.strip().splitlines()[-1])
            threads_used = env.get("OMP_NUM_THREADS") or os.environ.get(
                "OMP_NUM_THREADS", "MXNet default"
            )
            rows.append(
                {"approach": approach, "threads": threads_used, "peak": peak, **timing}
            )
            message = f"synthetic {approach} ({threads}): {timing}"
            print(message, flush=True)  # noqa: T201 - progress of a long benchmark
    return rows


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| approach | readout | test accuracy | reference | difference | s / epoch | "
        "examples / s | epochs (best) | run s | peak memory MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        metrics = row["metrics"]
        reference = metrics.get("reference_test_accuracy")
        difference = metrics.get("difference_from_reference")
        throughput = row["train_rows"] * metrics["epochs"] / metrics["train_seconds"]
        lines.append(
            f"| `{row['approach']}` | `{row['readout']}` | "
            f"{metrics['test_accuracy']:.2%} | "
            f"{'n/a' if reference is None else f'{reference:.2%}'} | "
            f"{'n/a' if difference is None else f'{difference:+.2%}'} | "
            f"{metrics['seconds_per_epoch']:.2f} | {throughput:,.0f} | "
            f"{metrics['epochs']} ({metrics['best_epoch']}) | "
            f"{row['run_seconds']:.0f} | {row['peak']:.0f} |"
        )
    return lines


def _synthetic_table(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "## One epoch on synthetic full-size data",
        "",
        "114,000 training rows x 50 tokens, vocabulary 65,000, 112 Adam steps of 1,024 "
        "rows, then 6,000 validation rows scored (included). MXNet's default is "
        "one OpenMP thread per two processors.",
        "",
        "| approach | OMP threads | s / epoch (wall) | CPU s | examples / s | "
        "tutorial s / epoch | peak memory MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        tutorial = TUTORIAL_EPOCH_SECONDS.get(row["approach"])
        lines.append(
            f"| `{row['approach']}` | {row['threads']} | {row['seconds']:.1f} | "
            f"{row['cpu_seconds']:.1f} | "
            f"{114_000 / row['seconds']:,.0f} | "
            f"{'n/a' if tutorial is None else f'{tutorial:.0f}'} | {row['peak']:.0f} |"
        )
    return lines


def main() -> None:
    """Run the benchmark and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("full", "sample"), default="full")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every approach"
    )
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument(
        "--synthetic-threads",
        nargs="+",
        default=["default"],
        help='OMP_NUM_THREADS values for the synthetic epochs ("default": inherit)',
    )
    parser.add_argument("--synthetic-only", choices=SYNTHETIC, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthetic_only:
        _synthetic_epoch(args.synthetic_only)
        return

    env, kedro_env = data_settings(args.data)

    with tempfile.TemporaryDirectory(prefix="agnews-bench-") as scratch:
        project = copy_project(Path(scratch) / "project")
        data_dir = project / ("data/full" if args.data == "full" else "data")
        shared_seconds, _, _ = run_measured(
            [KEDRO, "run", *kedro_env, "--pipelines=text_features,glove"], project, env
        )
        rows = _approach_runs(project, data_dir, kedro_env, env, args.epochs)
    synthetic = [] if args.skip_synthetic else _synthetic_runs(args.synthetic_threads)

    default_rows = [row for row in rows if row["readout"] == "last_token"]
    lines = [
        f"# `{FAMILY}` benchmark",
        "",
        f"- Data: **{args.data}** "
        + (
            "(official 120,000 train rows less the 5 % validation split, "
            "7,600 test rows)"
            if args.data == "full"
            else "(the bundled sample: 5,700 train, 300 validation, 1,600 test rows)"
        ),
        f"- Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Epochs: {args.epochs or 'as configured (15)'}; shared stages "
        f"(ingestion, text features): {shared_seconds:.1f} s",
        "- Six trainings with the default readout together: "
        f"**{sum(r['metrics']['train_seconds'] for r in default_rows):.1f} s**",
        "- Readouts: `last_token` (default: each direction where it has read the "
        "whole article, forward at the last real token, backward at the first), "
        "`last_position` (the tutorial's `output[:, -1]`, after the padding), "
        "`last_token_position` (bidirectional only: `output[:, length - 1]`, "
        "where the backward half has read one token).",
        "- `run s` is one `kedro run --namespaces` of the approach (training, "
        "evaluation, LIME, process start-up).",
        "",
        *_table(rows),
        *(_synthetic_table(synthetic) if synthetic else []),
    ]
    suffix = "" if args.epochs is None else f"_epochs{args.epochs}"
    results = RESULTS_DIR / f"{FAMILY}_{args.data}{suffix}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))  # noqa: T201 - a benchmark prints its figures


if __name__ == "__main__":
    main()
