"""The committed Airflow DAGs: reproducible, one task per Kedro node, nothing lost between.

Airflow is not installed in the project's environment, so the DAG files are read as
Python syntax; one test loads the full-reproduction DAG in a real Airflow (``make test``'s
``.venv-airflow``, named by ``AGNEWS_AIRFLOW_PYTHON``), and
scripts/airflow_integration.sh runs the DAGs in one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import MemoryDataset

from tools.sandbox import KEDRO, PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "airflow_dags"
GENERATOR = PROJECT_ROOT / "scripts" / "generate_airflow_dags.sh"
AIRFLOW_CONFIG = PROJECT_ROOT / "conf" / "airflow" / "airflow.yml"
# The full reproduction: `__default__` in the environment combining conf/full and
# conf/airflow, its tasks grouped by Kedro namespace (family, then approach).
FULL_DAG_FILE = DAGS_FOLDER / "agnews_pipeline_airflow_full_dag.py"
FULL_DAG_ID = "agnews_pipeline_full_reproduction"
# A Python with Airflow: `make test` makes .venv-airflow and names it here; otherwise the
# environment of scripts/airflow_integration.sh.
AIRFLOW_PYTHON = Path(
    os.environ.get("AGNEWS_AIRFLOW_PYTHON", "/tmp/agnews-airflow-venv/bin/python")
)
# Airflow 3.3's task id rules (utils.helpers.KEY_REGEX, models.base.ID_LEN).
TASK_ID = re.compile(r"^[\w.-]{1,250}$")


@dataclass
class GeneratedDag:
    """What one generated DAG file declares."""

    path: Path
    pipeline_name: str = ""
    env: str = ""
    dag_arguments: dict[str, object] = field(default_factory=dict)
    task_nodes: dict[str, list[str]] = field(default_factory=dict)
    # The Kedro namespace whose task group a task sits in ("" outside any group).
    task_groups: dict[str, str] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)


def _constant(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _keywords(call: ast.Call) -> dict[str, object]:
    return {keyword.arg: _constant(keyword.value) for keyword in call.keywords}


def _decorator(function: ast.FunctionDef, name: str) -> ast.Call | None:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == name:
            return decorator
    return None


def _task_key(subscript: ast.expr) -> str:
    assert isinstance(subscript, ast.Subscript), ast.unparse(subscript)
    return str(_constant(subscript.slice))


def _read_task(function: ast.FunctionDef, dag: GeneratedDag) -> None:
    task = _decorator(function, "task")
    assert task is not None, f"{dag.path.name}: {function.name} is not a task"
    calls = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "_run_kedro_node"
    ]
    assert len(calls) == 1, f"{dag.path.name}: {function.name} runs {len(calls)} slices"
    arguments = _keywords(task)
    task_id = str(arguments["task_id"])
    group = ""
    for call in [k.value for k in task.keywords if k.arg == "task_group"]:
        # task_group=_task_group(groups, "<namespace>"): Airflow prefixes the task id
        # with the ids of its nested groups, i.e. the namespace.
        assert isinstance(call, ast.Call) and ast.unparse(call.func) == "_task_group"
        group = str(_constant(call.args[1]))
        task_id = f"{group}.{task_id}" if group else task_id
    assert task_id not in dag.task_nodes, f"{dag.path.name}: task {task_id} twice"
    dag.task_nodes[task_id] = list(_keywords(calls[0])["node_names"])
    dag.task_groups[task_id] = group


def parse_dag(path: Path) -> GeneratedDag:
    """Read a generated DAG file's settings, tasks and dependencies."""
    dag = GeneratedDag(path)
    module = ast.parse(path.read_text(encoding="utf-8"))
    for statement in module.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            name = ast.unparse(statement.targets[0])
            if name in ("pipeline_name", "env"):
                setattr(dag, name, _constant(statement.value))
        if isinstance(statement, ast.FunctionDef) and _decorator(statement, "dag"):
            dag.dag_arguments = _keywords(_decorator(statement, "dag"))
            for inner in statement.body:
                if isinstance(inner, ast.FunctionDef):
                    _read_task(inner, dag)
                elif isinstance(inner, ast.Expr) and isinstance(inner.value, ast.BinOp):
                    assert isinstance(inner.value.op, ast.RShift)
                    dag.edges.add(
                        (_task_key(inner.value.left), _task_key(inner.value.right))
                    )
    return dag


def _committed_dag_files() -> list[Path]:
    return sorted(DAGS_FOLDER.glob("*_dag.py"))


@pytest.fixture(scope="module")
def dags() -> dict[str, GeneratedDag]:
    """Every committed DAG, by the Kedro pipeline it was generated from."""
    parsed = [parse_dag(path) for path in _committed_dag_files()]
    return {dag.pipeline_name: dag for dag in parsed}


@cache
def _environment_catalog(env: str):
    """The catalog of a Kedro environment a DAG runs in (nothing is loaded)."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env=env) as session:
        return session.load_context().catalog


@pytest.fixture(scope="module")
def base_catalog():
    """The catalog of a plain ``kedro run``."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        yield session.load_context().catalog


def test_generator_reproduces_the_committed_dags_byte_for_byte(tmp_path):
    result = subprocess.run(
        ["bash", str(GENERATOR), str(tmp_path)],
        env={**os.environ, "KEDRO": KEDRO, "PYTHON": sys.executable, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    generated = sorted(tmp_path.glob("*_dag.py"))
    assert [path.name for path in generated] == [
        path.name for path in _committed_dag_files()
    ], "rerun scripts/generate_airflow_dags.sh and commit airflow_dags/"
    for path in generated:
        assert path.read_bytes() == (DAGS_FOLDER / path.name).read_bytes(), (
            f"airflow_dags/{path.name} is stale: rerun scripts/generate_airflow_dags.sh"
        )


def test_the_dags_are_batch_scoring_hourly_the_configured_family_nightly_and_all(dags):
    family = yaml.safe_load(AIRFLOW_CONFIG.read_text())["nightly_family"]
    assert set(dags) == {"batch_predict", f"retrain_{family}", "__default__"}
    batch, nightly = dags["batch_predict"], dags[f"retrain_{family}"]
    assert batch.dag_arguments["dag_id"] == "agnews_pipeline_batch_predict"
    assert batch.dag_arguments["schedule"] == "@hourly"
    assert nightly.dag_arguments["dag_id"] == f"agnews_pipeline_retrain_{family}"
    assert nightly.dag_arguments["schedule"] == "0 2 * * *"
    for dag in (batch, nightly):
        assert dag.env == "airflow", dag.path.name
        assert dag.path.name == f"agnews_pipeline_airflow_{dag.pipeline_name}_dag.py"
    full = dags["__default__"]
    assert full.path == FULL_DAG_FILE
    assert full.env == "airflow_full"
    assert full.dag_arguments["dag_id"] == FULL_DAG_ID
    assert full.dag_arguments["schedule"] is None  # triggered by hand
    for dag in dags.values():
        assert dag.dag_arguments["max_active_runs"] == 1, dag.path.name
        assert dag.dag_arguments["catchup"] is False, dag.path.name


def test_every_kedro_node_is_one_task_and_every_dependency_an_edge(dags):
    bootstrap_project(PROJECT_ROOT)
    for name, dag in dags.items():
        pipeline = pipelines[name]
        assert all(len(nodes) == 1 for nodes in dag.task_nodes.values()), name
        node_of_task = {task: nodes[0] for task, nodes in dag.task_nodes.items()}
        assert sorted(node_of_task.values()) == sorted(n.name for n in pipeline.nodes)
        assert all(TASK_ID.match(task) for task in node_of_task), name
        expected = {
            (parent.name, child.name)
            for child, parents in pipeline.node_dependencies.items()
            for parent in parents
        }
        edges = {(node_of_task[a], node_of_task[b]) for a, b in dag.edges}
        assert edges == expected, name


def test_nothing_passes_between_tasks_in_memory(dags):
    bootstrap_project(PROJECT_ROOT)
    for name, dag in dags.items():
        pipeline = pipelines[name]
        catalog = _environment_catalog(dag.env)
        produced = {output for node in pipeline.nodes for output in node.outputs}
        consumed = {input_ for node in pipeline.nodes for input_ in node.inputs}
        for dataset_name in sorted(produced & consumed):
            dataset = catalog.get(dataset_name)
            assert dataset is not None and not isinstance(dataset, MemoryDataset), (
                f"{name}: {dataset_name} would be lost between two Airflow tasks"
            )


def _where(dataset) -> dict[str, object]:
    """A dataset's description without its version (each session has its own)."""
    description = dataset._describe()  # noqa: SLF001 - the resolved settings are the point
    return {key: value for key, value in description.items() if key != "version"}


@pytest.mark.parametrize(
    ("airflow_env", "plain_env", "data_dir"),
    [("airflow", None, "data"), ("airflow_full", "full", "data/full")],
)
def test_the_airflow_environment_only_adds_storage_for_in_memory_datasets(
    airflow_env, plain_env, data_dir, base_catalog
):
    """`airflow` is base plus the handoffs; `airflow_full` is `full` plus the same."""
    bootstrap_project(PROJECT_ROOT)
    airflow_catalog = _environment_catalog(airflow_env)
    plain_catalog = _environment_catalog(plain_env) if plain_env else base_catalog
    handoffs = []
    for dataset_name in sorted(pipelines["__default__"].datasets()):
        if dataset_name.startswith("params:") or dataset_name == "parameters":
            continue
        base = plain_catalog.get(dataset_name)
        in_airflow = airflow_catalog.get(dataset_name)
        if base is None or isinstance(base, MemoryDataset):
            handoffs.append(dataset_name)
            path = str(in_airflow._filepath)  # noqa: SLF001 - the location is the point
            assert path.endswith(
                f"/{data_dir}/02_intermediate/airflow/outside_airflow/{dataset_name}.pickle"
            )
        else:
            assert type(in_airflow) is type(base), dataset_name
            assert _where(in_airflow) == _where(base), dataset_name
    assert "keras_train_tokens" in handoffs
    assert "glove_haiku.mean.training_history" in handoffs


def _approach_namespaces() -> set[str]:
    """Every trained approach's namespace, the baselines' included, the ensemble's not."""
    from agnews_pipeline.pipelines.reporting.pipeline import (  # noqa: PLC0415
        member_approaches,
    )

    return {
        f"{family}.{approach}"
        for family, approaches in member_approaches().items()
        for approach in approaches
    }


def _reachable(
    edges: set[tuple[str, str]], start: set[str], *, upstream: bool
) -> set[str]:
    """The tasks reachable from ``start`` along the edges (or against them), not ``start``."""
    step: dict[str, set[str]] = {}
    for parent, child in edges:
        before, after = (child, parent) if upstream else (parent, child)
        step.setdefault(before, set()).add(after)
    found, frontier = set(), set(start)
    while frontier:
        frontier = {t for task in frontier for t in step.get(task, ())} - found
        found |= frontier
    return found - start


def test_the_full_reproduction_has_a_task_group_per_approach(dags):
    full = dags["__default__"]
    approaches = _approach_namespaces()
    assert len(approaches) == 25  # 20 neural approaches in 5 families, 5 baselines
    for task, group in full.task_groups.items():
        # Each task sits in the group of its Kedro namespace; its id is the node name.
        assert full.task_nodes[task] == [task]
        assert group == task.rpartition(".")[0], task
    assert approaches <= set(full.task_groups.values())
    for approach in sorted(approaches):
        steps = {
            task.rpartition(".")[2]
            for task, group in full.task_groups.items()
            if group == approach
        }
        assert any(step.startswith("train_") for step in steps), approach
        assert any(step.startswith("evaluate_") for step in steps), approach
        if not approach.startswith("baselines."):
            assert "explain_article_node" in steps, approach


def test_the_full_reproduction_runs_shared_stages_then_approaches_side_by_side_then_the_report(
    dags,
):
    from agnews_pipeline.pipelines.reporting.pipeline import (  # noqa: PLC0415
        create_results_pipeline,
    )

    bootstrap_project(PROJECT_ROOT)
    full = dags["__default__"]
    approaches = _approach_namespaces()
    approach_of = {t: g for t, g in full.task_groups.items() if g in approaches}
    shared = {
        node.name
        for stage in ("ingestion", "text_features", "glove")
        for node in pipelines[stage].nodes
    }
    closing = {node.name for node in pipelines["ensemble"].nodes} | {
        node.name for node in create_results_pipeline().nodes
    }
    assert shared | closing <= set(full.task_nodes)
    for approach in sorted(approaches):
        members = {t for t, g in approach_of.items() if g == approach}
        before = _reachable(full.edges, members, upstream=True)
        # Only shared stages (and the family's own preparation, such as gluonnlp's
        # GloVe matrices) come before an approach: no approach waits for another.
        family = approach.partition(".")[0]
        assert before & shared, approach
        assert all(
            task in shared
            or (task.startswith(f"{family}.") and task not in approach_of)
            for task in before
        ), (approach, sorted(before - shared))
        # The ensemble and the report come after every approach, and nothing else does.
        after = _reachable(full.edges, members, upstream=False) - members
        assert {"fit_ensemble_node", "build_results_table_node"} <= after, approach
        assert not after & shared, approach
    after_any = _reachable(full.edges, set(approach_of), upstream=False) - set(
        approach_of
    )
    assert after_any == closing
    for task in ("render_results_markdown_node", "plot_accuracy_chart_node"):
        before = _reachable(full.edges, {task}, upstream=True)
        assert {approach_of[t] for t in before if t in approach_of} == approaches, task


# Skipped only when nobody named an Airflow: a named one that is missing fails the test.
@pytest.mark.skipif(
    "AGNEWS_AIRFLOW_PYTHON" not in os.environ and not AIRFLOW_PYTHON.exists(),
    reason=f"no Airflow at {AIRFLOW_PYTHON} (`make test` creates .venv-airflow)",
)
def test_airflow_loads_the_full_reproduction_with_its_task_groups(dags, tmp_path):
    full = dags["__default__"]
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    (dags_folder / FULL_DAG_FILE.name).write_bytes(FULL_DAG_FILE.read_bytes())
    loader = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
dag = bag.dags.get(sys.argv[2])
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "tasks": None if dag is None else {
        task.task_id: [task.task_group.group_id or "", sorted(task.upstream_task_ids)]
        for task in dag.tasks
    },
}))
"""
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", loader, str(dags_folder), FULL_DAG_ID],
        env={
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    tasks = loaded["tasks"]
    assert tasks is not None, f"Airflow did not load {FULL_DAG_ID}"
    assert {task: group for task, (group, _) in tasks.items()} == full.task_groups
    assert {
        (parent, task) for task, (_, parents) in tasks.items() for parent in parents
    } == full.edges
