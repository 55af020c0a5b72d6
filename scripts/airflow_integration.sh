#!/usr/bin/env bash
# Integration check, not part of `make test` (it installs Apache Airflow, then runs the
# whole pipeline twice on the sample: about half an hour on the 2-core machine):
# runs the committed DAGs of airflow_dags/ in a real Airflow on the bundled sample.
#
#  1. A virtual environment of its own (default /tmp/agnews-airflow-venv) with
#     apache-airflow and this project (a wheel, as a deployment would install it).
#  2. AIRFLOW_HOME in a scratch folder, `airflow db migrate`, the DAGs folder holding
#     copies of airflow_dags/*_dag.py; both DAGs must import without errors. An
#     `airflow api-server` on 127.0.0.1 (a free port) serves the task execution API,
#     so that `airflow dags test --use-executor` runs every task in a process of its
#     own through the LocalExecutor, as a deployed Airflow would (two at a time).
#  3. A scratch copy of the project (tools.sandbox.copy_project), with the
#     nightly family's epochs cut to 2: this checks orchestration, not accuracy.
#  4. `airflow dags test` on the nightly retraining DAG: trains the family and writes
#     the results table, every Kedro node in its own task, process and Kedro session.
#  5. Two files dropped in data/01_raw/incoming/ (CSV and JSON Lines), then
#     `airflow dags test` on the batch-scoring DAG: one predictions file per drop must
#     appear under data/07_model_output/batch/, one row per article, from the family.
#  6. The full reproduction DAG (every stage, one task per node in a task group per
#     family and approach, environment airflow_full) on the sample, unchanged epochs,
#     in a fresh scratch copy whose airflow_full has its two links to conf/full removed
#     (so: base's sample data, data_dir data; nothing is downloaded). Every task must
#     succeed, the results table must exist, and every node must have left exactly one
#     resource record, all under the DAG run's one Kedro version (parallel tasks lose
#     none).
#  7. The same pipeline under a plain `kedro run` (base, SequentialRunner) in another
#     fresh copy. Both wall times, the tasks' timings and the two runs' test
#     accuracies go to benchmarks/results/airflow_fanout.md in this project (the
#     section from "## Remarks" on is hand-written and kept).
#
# Usage: scripts/airflow_integration.sh [VENV_DIR]
#   AIRFLOW_VERSION (default: the Makefile's, the one `make test` parses the DAG with)
#   and PYTHON (default python3, must be 3.11) apply when the environment is created;
#   an existing one is reused (the project is reinstalled every time). Scratch files go
#   to a new /tmp/agnews-airflow.* folder, kept for inspection; its path is printed at
#   the end.
set -euo pipefail

PROJECT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-/tmp/agnews-airflow-venv}"
# One pin for both Airflow environments: the Makefile's.
AIRFLOW_VERSION="${AIRFLOW_VERSION:-$(sed -n -E 's/^AIRFLOW_VERSION \?= *([0-9.]+).*/\1/p' "$PROJECT/Makefile")}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d /tmp/agnews-airflow.XXXXXX)"
SANDBOX="$WORK/project"
STARTED=$SECONDS

say() { printf '[airflow_integration %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { say "FAILED: $*" >&2; say "scratch files kept in $WORK" >&2; exit 1; }

family="$(sed -n -E "s/^nightly_family: *[\"']?([A-Za-z0-9_]+).*/\1/p" \
    "$PROJECT/conf/airflow/airflow.yml")"
[ -n "$AIRFLOW_VERSION" ] || fail "Makefile: no 'AIRFLOW_VERSION ?= <version>' line"
[ -n "$family" ] || fail "conf/airflow/airflow.yml: no 'nightly_family: <family>' line"
NIGHTLY_DAG="agnews_pipeline_retrain_${family}"
BATCH_DAG="agnews_pipeline_batch_predict"
FULL_DAG="$(sed -n -E "s/^ *dag_id: *[\"']?([A-Za-z0-9_]+).*/\1/p" \
    "$PROJECT/conf/airflow_full/airflow.yml")"
[ -n "$FULL_DAG" ] || fail "conf/airflow_full/airflow.yml: no 'dag_id: <id>' line"
RESULTS_FILE="$PROJECT/benchmarks/results/airflow_fanout.md"
for dag_file in batch_predict "retrain_${family}" full; do
    [ -f "$PROJECT/airflow_dags/agnews_pipeline_airflow_${dag_file}_dag.py" ] \
        || fail "airflow_dags/ has no DAG for ${dag_file}: run scripts/generate_airflow_dags.sh"
done

# 1. Airflow and the project in one environment. Airflow's documented install uses
# its constraints file from raw.githubusercontent.com, which this machine cannot
# reach (only PyPI is): Airflow is pinned exactly instead, and pip resolves it
# together with the project's exact pins; `pip check` must then find no conflict.
if [ ! -x "$VENV/bin/pip" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip > "$WORK/pip.log" 2>&1 \
        || fail "upgrading pip: see $WORK/pip.log"
fi
# Built from a copy of what the wheel needs: setuptools leaves build/ and *.egg-info
# beside the sources it builds. pip rebuilds and reinstalls a folder every time.
mkdir -p "$WORK/package"
(cd "$PROJECT" && tar --exclude='__pycache__' --exclude='*.egg-info' \
    -cf - pyproject.toml README.md src) | tar -C "$WORK/package" -xf -
say "installing apache-airflow==$AIRFLOW_VERSION and the project from $PROJECT into $VENV"
"$VENV/bin/pip" install "apache-airflow==$AIRFLOW_VERSION" "$WORK/package" \
    >> "$WORK/pip.log" 2>&1 || fail "pip install: see $WORK/pip.log"
"$VENV/bin/pip" check >> "$WORK/pip.log" 2>&1 \
    || fail "conflicting requirements in $VENV: see $WORK/pip.log"
versions="$("$VENV/bin/python" -c '
import platform
from importlib.metadata import version
print("Airflow", version("apache-airflow") + ", Kedro", version("kedro") + ", Python",
      platform.python_version())')"
say "$versions"

# 2. A scratch Airflow: SQLite metadata database, the committed DAGs.
export AIRFLOW_HOME="$WORK/airflow_home"
export AIRFLOW__CORE__DAGS_FOLDER="$WORK/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=2
port="$("$VENV/bin/python" -c '
import socket
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    print(probe.getsockname()[1])')"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
# The API server signs the tasks' tokens and checks them: one secret for both.
AIRFLOW__API_AUTH__JWT_SECRET="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
export AIRFLOW__API_AUTH__JWT_SECRET
mkdir -p "$AIRFLOW_HOME" "$AIRFLOW__CORE__DAGS_FOLDER"
cp "$PROJECT/airflow_dags/agnews_pipeline_airflow_batch_predict_dag.py" \
    "$PROJECT/airflow_dags/agnews_pipeline_airflow_retrain_${family}_dag.py" \
    "$PROJECT/airflow_dags/agnews_pipeline_airflow_full_dag.py" \
    "$AIRFLOW__CORE__DAGS_FOLDER/"
AIRFLOW="$VENV/bin/airflow"
say "airflow db migrate in $AIRFLOW_HOME"
"$AIRFLOW" db migrate > "$WORK/db_migrate.log" 2>&1 || fail "airflow db migrate: see $WORK/db_migrate.log"
# What the DAG processor does on a schedule: parse the DAG files into the database.
"$AIRFLOW" dags reserialize > "$WORK/reserialize.log" 2>&1 \
    || fail "airflow dags reserialize: see $WORK/reserialize.log"
"$AIRFLOW" dags list-import-errors > "$WORK/import_errors.log" 2>&1 || true
"$AIRFLOW" dags list > "$WORK/dags_list.log" 2>&1 || fail "airflow dags list: see $WORK/dags_list.log"
for dag_id in "$NIGHTLY_DAG" "$BATCH_DAG" "$FULL_DAG"; do
    grep -q "$dag_id" "$WORK/dags_list.log" \
        || fail "Airflow did not load $dag_id: see $WORK/dags_list.log and $WORK/import_errors.log"
done

api_server_pid=""
stop_api_server() {
    if [ -n "$api_server_pid" ]; then
        kill -- "-$api_server_pid" 2>/dev/null || true
    fi
}
trap stop_api_server EXIT
say "airflow api-server on 127.0.0.1:$port"
# A process group of its own, so that it and its workers stop together.
setsid "$AIRFLOW" api-server --host 127.0.0.1 --port "$port" --workers 1 \
    > "$WORK/api_server.log" 2>&1 &
api_server_pid=$!
healthy=""
for _ in $(seq 120); do
    if "$VENV/bin/python" -c '
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/api/v2/monitor/health", timeout=2)' \
        "$AIRFLOW__API__BASE_URL" 2>/dev/null; then
        healthy=yes
        break
    fi
    kill -0 "$api_server_pid" 2>/dev/null || fail "airflow api-server stopped: see $WORK/api_server.log"
    sleep 1
done
[ -n "$healthy" ] || fail "airflow api-server not answering after 120 s: see $WORK/api_server.log"

# 3. The project the tasks run in: a scratch copy, never the working tree's data/.
copy_project() {
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$PROJECT/src:$PROJECT" "$VENV/bin/python" -c '
import sys
from pathlib import Path
from tools.sandbox import copy_project
copy_project(Path(sys.argv[1]))' "$1"
}
copy_project "$SANDBOX"
sed -i -E 's/^( *epochs:) [0-9]+/\1 2/' "$SANDBOX/conf/base/parameters_${family}.yml"
export AGNEWS_PROJECT_PATH="$SANDBOX"
cd "$SANDBOX"
logical_date="$(date -u +%Y-%m-%dT%H:00:00+00:00)"

now() { date +%s.%N; }
elapsed() { "$VENV/bin/python" -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$2"; }

# Sets DAG_RUN_ID and DAG_SECONDS (the wall time of `airflow dags test`); the run's task
# instances are kept in $WORK/<dag id>.tasks.json.
run_dag() {
    local dag_id="$1" log="$WORK/$1.log" started
    started="$(now)"
    say "airflow dags test --use-executor $dag_id $logical_date (log: $log)"
    "$AIRFLOW" dags test --use-executor "$dag_id" "$logical_date" > "$log" 2>&1 \
        || fail "airflow dags test $dag_id exited $?: see $log"
    DAG_SECONDS="$(elapsed "$started" "$(now)")"
    local run_id tasks
    run_id="$("$AIRFLOW" dags list-runs "$dag_id" --state success --output json 2>/dev/null \
        | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[0]["run_id"])')" \
        || fail "$dag_id has no successful run: see $log"
    "$AIRFLOW" tasks states-for-dag-run "$dag_id" "$run_id" --output json \
        > "$WORK/$dag_id.tasks.json" 2>/dev/null \
        || fail "$dag_id run $run_id: cannot list its task instances"
    # Every task instance of the run, with its state: all of them must have succeeded.
    tasks="$("$VENV/bin/python" -c '
import json, sys
states = [row["state"] for row in json.load(open(sys.argv[1]))]
if not states or set(states) != {"success"}:
    sys.exit(f"task states: {states}")
print(len(states))' "$WORK/$dag_id.tasks.json")" \
        || fail "$dag_id run $run_id: not every task succeeded: see $log"
    DAG_RUN_ID="$run_id"
    say "$dag_id: run $run_id, $tasks tasks succeeded in $DAG_SECONDS s"
}

# 4. Nightly retraining.
run_dag "$NIGHTLY_DAG"
[ -e "$SANDBOX/data/08_reporting/results.csv" ] || fail "no results table after $NIGHTLY_DAG"

# 5. Two drops, then batch scoring.
"$VENV/bin/python" - "$SANDBOX" <<'EOF'
import csv
import json
import sys
from pathlib import Path

project = Path(sys.argv[1])
with (project / "data/01_raw/ag_news_sample/test.csv").open(newline="") as stream:
    rows = list(csv.reader(stream))
incoming = project / "data/01_raw/incoming"
incoming.mkdir(parents=True)
with (incoming / "2026-11-23T14-00_feed.csv").open("w", newline="") as stream:
    writer = csv.writer(stream)
    writer.writerow(["id", "title", "description"])
    for number, (_, title, description) in enumerate(rows[:12]):
        writer.writerow([f"csv-{number}", title, description])
with (incoming / "2026-11-23T15-00_feed.jsonl").open("w") as stream:
    for number, (_, title, description) in enumerate(rows[12:20]):
        stream.write(json.dumps({"id": f"jsonl-{number}", "text": f"{title} {description}"}))
        stream.write("\n")
EOF
run_dag "$BATCH_DAG"

"$VENV/bin/python" - "$SANDBOX" "$family" <<'EOF' || fail "batch predictions are wrong"
import sys
from pathlib import Path

import pandas as pd

project, family = Path(sys.argv[1]), sys.argv[2]
expected = {
    "2026-11-23T14-00_feed.csv": [f"csv-{n}" for n in range(12)],
    "2026-11-23T15-00_feed.jsonl": [f"jsonl-{n}" for n in range(8)],
}
batch = project / "data/07_model_output/batch"
found = sorted(path.name for path in batch.glob("*.predictions.csv"))
wanted = sorted(f"{name}.predictions.csv" for name in expected)
assert found == wanted, f"{batch}: expected {wanted}, found {found}"
for name, ids in expected.items():
    frame = pd.read_csv(batch / f"{name}.predictions.csv", dtype={"id": str})
    assert frame["id"].tolist() == ids, (name, frame["id"].tolist())
    assert set(frame["family"]) == {family}, (name, set(frame["family"]))
    probabilities = frame.filter(like="probability_")
    assert probabilities.shape[1] == 4, list(frame.columns)
    assert (probabilities.sum(axis=1) - 1).abs().max() < 1e-4, name
    print(f"{name}: {len(frame)} predictions by {frame['family'][0]}.{frame['approach'][0]}")
EOF

# 6. The full reproduction on the sample, fanned out: a fresh copy, the real epochs.
FULL_SANDBOX="$WORK/full_project"
PLAIN_SANDBOX="$WORK/plain_project"
copy_project "$FULL_SANDBOX"
copy_project "$PLAIN_SANDBOX"
# airflow_full without its links to conf/full: base's sample data and data_dir.
rm "$FULL_SANDBOX/conf/airflow_full/globals.yml" "$FULL_SANDBOX/conf/airflow_full/catalog_full.yml"
export AGNEWS_PROJECT_PATH="$FULL_SANDBOX"
cd "$FULL_SANDBOX"
FULL_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
run_dag "$FULL_DAG"
FULL_SECONDS="$DAG_SECONDS"
FULL_RUN_ID="$DAG_RUN_ID"
[ -e "$FULL_SANDBOX/data/08_reporting/results.csv" ] || fail "no results table after $FULL_DAG"
[ ! -e "$FULL_SANDBOX/data/full" ] || fail "$FULL_DAG wrote under data/full: not the sample"
# One record per node (none lost by parallel tasks), all under the run's one version.
PYTHONPATH="$PROJECT/src" "$VENV/bin/python" -c '
import json, sys
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

project = Path(sys.argv[1])
bootstrap_project(project)
expected = {node.name for node in pipelines["__default__"].nodes}
folder = project / "data/08_reporting/node_resources"
records = [json.loads(path.read_text()) for path in folder.glob("*/*.json")]
nodes = [record["node"] for record in records]
missing = sorted(expected - set(nodes))
twice = sorted({node for node in nodes if nodes.count(node) > 1})
assert not missing and not twice and set(nodes) == expected, (missing, twice)
run_ids = {record["run_id"] for record in records}
assert len(run_ids) == 1, run_ids
print(f"{len(records)} node records, one per node, all of run {run_ids.pop()}")
' "$FULL_SANDBOX" || fail "$FULL_DAG: node resource records missing, doubled or mixed"

# 7. The same pipeline under a plain `kedro run`, in a fresh copy, same environment.
cd "$PLAIN_SANDBOX"
PLAIN_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
say "kedro run (base: the sample) in $PLAIN_SANDBOX (log: $WORK/plain_kedro_run.log)"
started="$(now)"
"$VENV/bin/kedro" run > "$WORK/plain_kedro_run.log" 2>&1 \
    || fail "kedro run exited $?: see $WORK/plain_kedro_run.log"
PLAIN_SECONDS="$(elapsed "$started" "$(now)")"
say "kedro run: $PLAIN_SECONDS s"

"$VENV/bin/python" "$PROJECT/scripts/airflow_fanout_report.py" "$RESULTS_FILE" \
    --dag-id "$FULL_DAG" --run-id "$FULL_RUN_ID" --tasks "$WORK/$FULL_DAG.tasks.json" \
    --dag-project "$FULL_SANDBOX" --dag-seconds "$FULL_SECONDS" --dag-load "$FULL_LOAD" \
    --plain-project "$PLAIN_SANDBOX" --plain-seconds "$PLAIN_SECONDS" \
    --plain-load "$PLAIN_LOAD" --versions "$versions" \
    || fail "writing $RESULTS_FILE"

say "PASSED in $((SECONDS - STARTED)) s ($versions; DAGs $NIGHTLY_DAG, $BATCH_DAG, $FULL_DAG)"
say "$FULL_DAG: $FULL_SECONDS s; kedro run: $PLAIN_SECONDS s; see $RESULTS_FILE"
say "scratch files kept in $WORK"
