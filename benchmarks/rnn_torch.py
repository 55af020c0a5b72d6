"""Benchmark the `rnn_torch` family and record a results table in the repository.

Usage:
    python benchmarks/rnn_torch.py                     # full AG News (AGNEWS_DATA_DIR)
    python benchmarks/rnn_torch.py --data sample       # the bundled sample
    python benchmarks/rnn_torch.py --data sample --skip-synthetic

The full-data run needs the official train.csv and test.csv in AGNEWS_DATA_DIR (default
../shared/data/ag_news); where train.csv is absent the script says so and stops. Runs
happen in a scratch copy of the project, so the working data/ is untouched: first the
shared stages (`--pipelines=text_features,glove`), then every approach alone (`--namespaces`,
upstream artifacts reused) twice: with the fixed defaults (`readout: last_token`,
`initial_hidden: zeros`) and with the tutorial's behaviour (`last_position`, `random`),
the setting the reference accuracies were obtained with. Each run's wall time and peak
memory are measured.

Then, unless `--skip-synthetic`, one epoch of `rnn_50` and of `birnn_3layer` on
synthetic full-size data (114,000 x 50 token ids, a 65,000-word vocabulary, 6,000
validation rows), each in a fresh process. torch uses one thread per CPU unless
OMP_NUM_THREADS says otherwise (the table records it).
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

FAMILY = "rnn_torch"
APPROACHES = {
    "rnn_25": "basic_english_25",
    "rnn_50": "basic_english_50",
    "rnn_3layer": "basic_english_50",
    "rnn_stacked": "basic_english_50",
    "birnn_3layer": "basic_english_50",
}
SETTINGS = {
    "fixed": {"readout": "last_token", "initial_hidden": "zeros"},
    "tutorial": {"readout": "last_position", "initial_hidden": "random"},
}
SYNTHETIC = ("rnn_50", "birnn_3layer")
SYNTHETIC_ROWS, SYNTHETIC_TOKENS, SYNTHETIC_VOCABULARY = 114_000, 50, 65_000
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"


def _synthetic_epoch(approach: str) -> None:
    """Train one epoch of ``approach`` on synthetic full-size data; print JSON timings."""
    import yaml  # noqa: PLC0415

    from agnews_pipeline.pipelines.rnn_torch.models import (  # noqa: PLC0415
        RNNTorchConfig,
        configure_threads,
    )
    from agnews_pipeline.pipelines.rnn_torch.train import (  # noqa: PLC0415
        train_rnn_classifier,
    )
    from agnews_pipeline.training import TrainingOptions  # noqa: PLC0415

    rng = np.random.default_rng(0)

    def features(rows: int) -> dict[str, np.ndarray]:
        # basic_english keeps punctuation: most AG News articles fill the 50 tokens.
        lengths = np.clip(rng.normal(45, 8, rows).round(), 1, SYNTHETIC_TOKENS)
        lengths = lengths.astype(np.int32)
        ids = rng.integers(1, SYNTHETIC_VOCABULARY, (rows, SYNTHETIC_TOKENS))
        ids[np.arange(SYNTHETIC_TOKENS)[None, :] >= lengths[:, None]] = 0
        labels = rng.integers(0, 4, rows).astype(np.int32)
        return {"token_ids": ids.astype(np.int32), "lengths": lengths, "labels": labels}

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
    train = features(SYNTHETIC_ROWS)
    started = time.process_time()
    _, history = train_rnn_classifier(
        train,
        features(6_000),
        SYNTHETIC_VOCABULARY,
        RNNTorchConfig.model_validate(block["model"]),
        options,
        name=f"{FAMILY}.{approach} (synthetic)",
    )
    timing = {
        "seconds": history["seconds"][0],
        "cpu_seconds": time.process_time() - started,
        "threads": configure_threads(),
    }
    print(json.dumps(timing))  # noqa: T201 - read by the parent process


def _approach_runs(
    project: Path,
    data_dir: Path,
    kedro_env: list[str],
    env: dict[str, str],
    epochs: int | None,
) -> dict[str, dict[str, dict]]:
    """approach -> setting -> {metrics, train_rows, run_seconds, peak}."""
    results: dict[str, dict[str, dict]] = {}
    for approach, feature_set in APPROACHES.items():
        with np.load(
            data_dir / "04_feature/text_features" / feature_set / "train.npz"
        ) as archive:
            train_rows = len(archive["labels"])
        for setting, model in SETTINGS.items():
            overrides = [f"{FAMILY}.{approach}.model.{k}={v}" for k, v in model.items()]
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
            results.setdefault(approach, {})[setting] = {
                "metrics": metrics,
                "train_rows": train_rows,
                "run_seconds": seconds,
                "peak": peak,
            }
            print(  # noqa: T201 - progress of a long benchmark
                f"{approach} {setting}: test {metrics['test_accuracy']:.4f}, "
                f"{metrics['seconds_per_epoch']:.2f} s/epoch, {seconds:.0f} s run",
                flush=True,
            )
    return results


def _synthetic_runs() -> list[dict]:
    """Each synthetic approach as configured; with OMP_NUM_THREADS set, ``rnn_50`` also
    with torch's machine default (one thread per CPU), to show what threads buy here.
    """
    runs = [(approach, None) for approach in SYNTHETIC]
    if "OMP_NUM_THREADS" in os.environ:
        runs.append((SYNTHETIC[0], "OMP_NUM_THREADS"))
    rows = []
    for approach, drop in runs:
        seconds, peak, stdout = run_measured(
            [sys.executable, __file__, "--synthetic-only", approach],
            PROJECT_ROOT,
            {},
            drop=drop,
        )
        timing = json.loads(stdout.strip().splitlines()[-1])
        rows.append({"approach": approach, "peak": peak, "process": seconds, **timing})
        print(f"synthetic {approach}: {timing}", flush=True)  # noqa: T201
    return rows


def _percent(value: float | None, sign: str = "") -> str:
    return "n/a" if value is None else f"{value:{sign}.2%}"


def _table(results: dict[str, dict[str, dict]]) -> list[str]:
    lines = [
        "| approach | test acc. fixed | test acc. tutorial | reference | "
        "difference fixed | difference tutorial | s / epoch fixed | "
        "s / epoch tutorial | examples / s fixed | epochs (best fixed) | "
        "peak MiB fixed / tutorial |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for approach, settings in results.items():
        fixed, tutorial = settings["fixed"], settings["tutorial"]
        metrics, tutorial_metrics = fixed["metrics"], tutorial["metrics"]
        throughput = fixed["train_rows"] / metrics["seconds_per_epoch"]
        lines.append(
            f"| `{approach}` | {_percent(metrics['test_accuracy'])} | "
            f"{_percent(tutorial_metrics['test_accuracy'])} | "
            f"{_percent(metrics.get('reference_test_accuracy'))} | "
            f"{_percent(metrics.get('difference_from_reference'), '+')} | "
            f"{_percent(tutorial_metrics.get('difference_from_reference'), '+')} | "
            f"{metrics['seconds_per_epoch']:.2f} | "
            f"{tutorial_metrics['seconds_per_epoch']:.2f} | {throughput:,.0f} | "
            f"{metrics['epochs']} ({metrics['best_epoch']}) | "
            f"{fixed['peak']:.0f} / {tutorial['peak']:.0f} |"
        )
    return lines


def _synthetic_table(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "## One epoch on synthetic full-size data (fixed defaults)",
        "",
        f"{SYNTHETIC_ROWS:,} training rows x {SYNTHETIC_TOKENS} tokens, vocabulary "
        f"{SYNTHETIC_VOCABULARY:,}, 112 Adam steps of 1,024 rows, then 6,000 validation "
        "rows scored (included). approaches.md gives no epoch times for the tutorial, "
        "so there is nothing to compare against. torch threads: 1 with "
        "OMP_NUM_THREADS=1, else one per CPU; two threads are faster on an idle "
        "machine but collapse when another process keeps one core busy (each of the "
        "RNN's tiny steps waits for the descheduled thread).",
        "",
        "| approach | torch threads | s / epoch (wall) | CPU s | examples / s | "
        "peak memory MiB |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['approach']}` | {row['threads']} | {row['seconds']:.1f} | "
            f"{row['cpu_seconds']:.1f} | {SYNTHETIC_ROWS / row['seconds']:,.0f} | "
            f"{row['peak']:.0f} |"
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
        results = _approach_runs(project, data_dir, kedro_env, env, args.epochs)
    synthetic = [] if args.skip_synthetic else _synthetic_runs()

    train_seconds = sum(
        settings["fixed"]["metrics"]["train_seconds"] for settings in results.values()
    )
    lines = [
        f"# `{FAMILY}` benchmark",
        "",
        f"- Data: **{args.data}** "
        + (
            "(official 120,000 train rows less the 5 % validation split, 7,600 test rows)"
            if args.data == "full"
            else "(the bundled sample: 5,700 train, 300 validation, 1,600 test rows)"
        ),
        f"- Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, "
        f"Python {platform.python_version()}; OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset (one torch thread per CPU)')}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Epochs: {args.epochs or 'as configured (15; birnn_3layer 25)'}; shared "
        f"stages (ingestion, text features): {shared_seconds:.1f} s",
        f"- Five trainings with the fixed defaults together: **{train_seconds:.1f} s**",
        "- fixed: `readout: last_token` (each direction's last step over the real "
        "tokens), `initial_hidden: zeros`; tutorial: `readout: last_position` "
        "(`output[:, -1]`, after the padding), `initial_hidden: random` (`torch.randn` "
        "on every call, so its test accuracy varies from one scoring to the next). "
        "The references were obtained with the tutorial's behaviour on the full data.",
        "- s / epoch includes scoring the validation split; examples / s: training "
        "rows per second of epoch; peak memory: one `kedro run --namespaces` of the "
        "approach (training, evaluation, LIME).",
        "",
        *_table(results),
        *(_synthetic_table(synthetic) if synthetic else []),
    ]
    suffix = "" if args.epochs is None else f"_epochs{args.epochs}"
    output = RESULTS_DIR / f"{FAMILY}_{args.data}{suffix}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))  # noqa: T201 - a benchmark prints its figures


if __name__ == "__main__":
    main()
