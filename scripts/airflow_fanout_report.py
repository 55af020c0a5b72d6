"""Writes benchmarks/results/airflow_fanout.md for scripts/airflow_integration.sh.

The full-reproduction DAG's run (steps 6) against a plain ``kedro run`` of the same
pipeline (step 7), both on the sample: wall times as the script measured them, the task
instances' timings as Airflow recorded them, the node times NodeResourceHooks saved in
each scratch project, and the two results tables' test accuracies. Everything from a
"## Remarks" heading on in an existing file is hand-written and kept.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

REMARKS = "## Remarks"


def node_seconds(project: Path) -> float:
    """The sum of every node's seconds in the project's node records."""
    folder = project / "data/08_reporting/node_resources"
    return sum(
        json.loads(path.read_text())["seconds"] for path in folder.glob("*/*.json")
    )


def test_accuracies(project: Path) -> pd.Series:
    """The newest results table's test accuracy per (family, approach)."""
    versions = sorted((project / "data/08_reporting/results.csv").glob("*/results.csv"))
    table = pd.read_csv(versions[-1]).set_index(["family", "approach"])
    return table["test_accuracy"]


def task_timings(tasks_file: Path) -> dict[str, float]:
    """Count, summed duration, span and peak concurrency of the run's task instances."""
    tasks = json.loads(tasks_file.read_text())
    spans = [
        (datetime.fromisoformat(t["start_date"]), datetime.fromisoformat(t["end_date"]))
        for t in tasks
    ]
    running = peak = 0
    # An end sorts before a start at the same instant: a task that ends as the next starts.
    for _, change in sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans]):
        running += change
        peak = max(peak, running)
    return {
        "started": min(s for s, _ in spans),
        "count": len(spans),
        "summed": sum((end - start).total_seconds() for start, end in spans),
        "span": (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds(),
        "peak": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_file", type=Path)
    for name in ("dag-id", "run-id", "dag-load", "plain-load", "versions"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("tasks", "dag-project", "plain-project"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    for name in ("dag-seconds", "plain-seconds"):
        parser.add_argument(f"--{name}", type=float, required=True)
    args = parser.parse_args()

    tasks = task_timings(args.tasks)
    dag_nodes, plain_nodes = (
        node_seconds(args.dag_project),
        node_seconds(args.plain_project),
    )
    accuracies = pd.concat(
        {
            "airflow": test_accuracies(args.dag_project),
            "kedro_run": test_accuracies(args.plain_project),
        },
        axis=1,
    )
    difference = (accuracies["airflow"] - accuracies["kedro_run"]).abs()
    identical = int((difference == 0).sum())
    # A row without a test accuracy (an optional package not installed) in both runs.
    neither = accuracies.isna().all(axis=1)
    unscored = ", ".join(
        f"{family}.{approach}" for family, approach in accuracies.index[neither]
    )
    dag_s, plain_s = args.dag_seconds, args.plain_seconds

    generated = f"""# The full reproduction on Airflow, fanned out, against `kedro run` (sample)

Written by `scripts/airflow_integration.sh` (steps 6 and 7) through
`scripts/airflow_fanout_report.py`; everything above "{REMARKS}" is replaced on the next
run. Both runs: the `__default__` pipeline on the bundled sample with the same
parameters, in the same Python environment, each in a fresh scratch copy of the project,
one after the other.

- Measured {tasks["started"].astimezone(UTC):%Y-%m-%d}, the DAG run from \
{tasks["started"].astimezone(UTC):%H:%M} UTC, then `kedro run`; {os.cpu_count()} cores;
  {args.versions}
- Airflow: DAG `{args.dag_id}` (environment `airflow_full` without its links to
  `conf/full`), `airflow dags test --use-executor`, LocalExecutor, parallelism 2; run
  `{args.run_id}`
- `kedro run`: base environment, SequentialRunner, one process

| | Airflow DAG | `kedro run` |
|---|---|---|
| wall time | **{dag_s:.1f} s** ({dag_s / 60:.1f} min) | **{plain_s:.1f} s** ({
        plain_s / 60:.1f} min) |
| load average (1, 5, 15 min) at the start | {args.dag_load} | {args.plain_load} |
| tasks (one per Kedro node) | {tasks["count"]} | - |
| first task's start to last task's end | {tasks["span"]:.1f} s | - |
| sum of the task durations | {tasks["summed"]:.1f} s | - |
| most tasks running at once | {tasks["peak"]} | 1 node at a time |
| sum of the node times (NodeResourceHooks) | {dag_nodes:.1f} s | {plain_nodes:.1f} s |
| mean time per task beyond its node | {
        (tasks["summed"] - dag_nodes) / tasks["count"]:.1f} s | - |

Wall time, Airflow / `kedro run`: **{dag_s / plain_s:.2f}**. Test accuracy identical in
{identical} of {len(accuracies)} rows of the results table (largest difference
{difference.max() * 100:.2f} percentage points){
        f"; no test accuracy in either run: {unscored}" if unscored else ""
    }.
"""
    remarks = f"{REMARKS}\n\nHand-written: none yet.\n"
    if args.results_file.exists():
        previous = args.results_file.read_text()
        if f"\n{REMARKS}" in previous:
            remarks = previous[previous.index(f"\n{REMARKS}") + 1 :]
    args.results_file.parent.mkdir(parents=True, exist_ok=True)
    args.results_file.write_text(f"{generated}\n{remarks}")
    print(generated)  # noqa: T201 - the integration log shows the figures


if __name__ == "__main__":
    main()
