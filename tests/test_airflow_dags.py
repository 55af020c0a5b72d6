"""The committed Airflow DAGs: reproducible, one task per Kedro node, nothing lost between.

Airflow is not installed in the project's environment, so the DAG files are read as
Python syntax; scripts/airflow_integration.sh runs them in a real Airflow.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
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
    task_id = str(_keywords(task)["task_id"])
    assert task_id not in dag.task_nodes, f"{dag.path.name}: task {task_id} twice"
    dag.task_nodes[task_id] = list(_keywords(calls[0])["node_names"])


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


@pytest.fixture(scope="module")
def airflow_catalog():
    """The catalog of the Kedro environment the DAGs run in."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="airflow") as session:
        yield session.load_context().catalog


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


def test_the_dags_are_batch_scoring_hourly_and_the_configured_family_nightly(dags):
    family = yaml.safe_load(AIRFLOW_CONFIG.read_text())["nightly_family"]
    assert set(dags) == {"batch_predict", f"retrain_{family}"}
    batch, nightly = dags["batch_predict"], dags[f"retrain_{family}"]
    assert batch.dag_arguments["dag_id"] == "agnews_pipeline_batch_predict"
    assert batch.dag_arguments["schedule"] == "@hourly"
    assert nightly.dag_arguments["dag_id"] == f"agnews_pipeline_retrain_{family}"
    assert nightly.dag_arguments["schedule"] == "0 2 * * *"
    for dag in dags.values():
        assert dag.env == "airflow", dag.path.name
        assert dag.dag_arguments["max_active_runs"] == 1, dag.path.name
        assert dag.dag_arguments["catchup"] is False, dag.path.name
        assert dag.path.name == f"agnews_pipeline_airflow_{dag.pipeline_name}_dag.py"


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


def test_nothing_passes_between_tasks_in_memory(dags, airflow_catalog):
    bootstrap_project(PROJECT_ROOT)
    for name in dags:
        pipeline = pipelines[name]
        produced = {output for node in pipeline.nodes for output in node.outputs}
        consumed = {input_ for node in pipeline.nodes for input_ in node.inputs}
        for dataset_name in sorted(produced & consumed):
            dataset = airflow_catalog.get(dataset_name)
            assert dataset is not None and not isinstance(dataset, MemoryDataset), (
                f"{name}: {dataset_name} would be lost between two Airflow tasks"
            )


def _where(dataset) -> dict[str, object]:
    """A dataset's description without its version (each session has its own)."""
    description = dataset._describe()  # noqa: SLF001 - the resolved settings are the point
    return {key: value for key, value in description.items() if key != "version"}


def test_the_airflow_environment_only_adds_storage_for_in_memory_datasets(
    airflow_catalog, base_catalog
):
    bootstrap_project(PROJECT_ROOT)
    handoffs = []
    for dataset_name in sorted(pipelines["__default__"].datasets()):
        if dataset_name.startswith("params:") or dataset_name == "parameters":
            continue
        base = base_catalog.get(dataset_name)
        in_airflow = airflow_catalog.get(dataset_name)
        if base is None or isinstance(base, MemoryDataset):
            handoffs.append(dataset_name)
            path = str(in_airflow._filepath)  # noqa: SLF001 - the location is the point
            assert path.endswith(
                f"/02_intermediate/airflow/outside_airflow/{dataset_name}.pickle"
            )
        else:
            assert type(in_airflow) is type(base), dataset_name
            assert _where(in_airflow) == _where(base), dataset_name
    assert "keras_train_tokens" in handoffs
    assert "glove_haiku.mean.training_history" in handoffs
