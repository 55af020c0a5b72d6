"""Benchmark the `glove_haiku` family and record a results table in the repository.

Usage:
    python benchmarks/glove_haiku.py              # full AG News (AGNEWS_DATA_DIR)
    python benchmarks/glove_haiku.py --data sample  # the bundled sample

The full-data run needs the official train.csv and test.csv in AGNEWS_DATA_DIR (default
../shared/data/ag_news); where train.csv is absent the script says so and stops. Runs
happen in a scratch copy of the project, so the working data/ is untouched: first the
whole `kedro run --pipelines=glove_haiku` (its wall time is the headline figure), then each
approach alone (`--namespaces`, upstream artifacts reused) to measure its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from _harness import data_settings, run_measured

from tools.sandbox import KEDRO, PROJECT_ROOT, copy_project, latest

FAMILY = "glove_haiku"
APPROACHES = ("flatten", "mean", "sum")
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"


def main() -> None:
    """Run the benchmark and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("full", "sample"), default="full")
    args = parser.parse_args()

    env, kedro_env = data_settings(args.data)

    with tempfile.TemporaryDirectory(prefix="agnews-bench-") as scratch:
        project = copy_project(Path(scratch) / "project")
        data_dir = project / ("data/full" if args.data == "full" else "data")
        total_seconds, total_peak, _ = run_measured(
            [KEDRO, "run", *kedro_env, f"--pipelines={FAMILY}"], project, env
        )
        rows = []
        for approach in APPROACHES:
            for layer in ("06_models", "07_model_output", "08_reporting"):
                subprocess.run(["rm", "-rf", str(data_dir / layer / FAMILY / approach)], check=True)
            _, peak, _ = run_measured(
                [
                    KEDRO,
                    "run",
                    *kedro_env,
                    f"--pipelines={FAMILY}",
                    f"--namespaces={FAMILY}.{approach}",
                ],
                project,
                env,
            )
            metrics = json.loads(
                latest(data_dir / "08_reporting" / FAMILY / approach / "metrics.json").read_text()
            )
            coverage = json.loads(
                (data_dir / "04_feature/glove/keras_6b_50d/coverage.json").read_text()
            )
            rows.append((approach, coverage, metrics, peak))

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
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Whole `kedro run {' '.join(kedro_env)} --pipelines={FAMILY}` (ingestion, text "
        f"features, GloVe matrix, three trainings, evaluation, LIME): "
        f"**{total_seconds:.1f} s**, peak memory {total_peak:.0f} MiB",
        f"- Three trainings together: **{sum(m['train_seconds'] for _, _, m, _ in rows):.1f} s**",
        "",
        "| approach | GloVe | coverage (vocab / tokens) | test accuracy | reference "
        "(840B.300d) | train s | s / epoch | epochs | peak memory MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for approach, coverage, metrics, peak in rows:
        reference = metrics.get("reference_test_accuracy")
        lines.append(
            f"| `{approach}` | {coverage['glove']} | "
            f"{coverage['vocabulary_coverage']:.1%} / {coverage['token_coverage']:.1%} | "
            f"{metrics['test_accuracy']:.2%} | "
            f"{'n/a' if reference is None else f'{reference:.1%}'} | "
            f"{metrics['train_seconds']:.1f} | {metrics['seconds_per_epoch']:.2f} | "
            f"{metrics['epochs']} | {peak:.0f} |"
        )
    results = RESULTS_DIR / f"{FAMILY}_{args.data}.md"
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))  # noqa: T201 - a benchmark prints its figures


if __name__ == "__main__":
    main()
