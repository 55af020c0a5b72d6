"""notebooks/results.ipynb, run top to bottom by `jupyter nbconvert` after a run."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

from tools.sandbox import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "results.ipynb"
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


def _latest(folder: Path, name: str) -> Path:
    """The latest version of the versioned ``<folder>/<name>/<timestamp>/<name>``."""
    versions = sorted((folder / name).glob(f"*/{name}"))
    assert versions, f"no version of {folder / name}"
    return versions[-1]


def _outputs(notebook: dict[str, Any], cell_id: str) -> list[dict[str, Any]]:
    cells = [cell for cell in notebook["cells"] if cell.get("id") == cell_id]
    assert len(cells) == 1, f"cell {cell_id!r} not found once"
    return cells[0]["outputs"]


def _data(outputs: list[dict[str, Any]], mime: str) -> list[str]:
    return [
        "".join(output["data"][mime]) if isinstance(output["data"][mime], list)
        else output["data"][mime]
        for output in outputs
        if mime in output.get("data", {})
    ]  # fmt: skip


def _html_rows(table_html: str) -> list[list[str]]:
    """Cells of each body row of a pandas ``DataFrame`` HTML table (index left out)."""
    body = table_html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_committed_notebook_has_no_outputs_and_loads_kedro_first():
    notebook = json.loads(NOTEBOOK.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert "".join(code[0]["source"]).strip() == "%load_ext kedro.ipython"
    assert all(
        cell["outputs"] == [] and cell["execution_count"] is None for cell in code
    )
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.fixture(scope="module")
def executed(default_run) -> tuple[Path, dict[str, Any]]:
    """The notebook executed by `jupyter nbconvert` in the finished run's notebooks/."""
    notebooks = default_run / "notebooks"
    notebooks.mkdir(exist_ok=True)
    shutil.copy2(NOTEBOOK, notebooks / "results.ipynb")
    result = subprocess.run(
        [
            JUPYTER, "nbconvert", "--to", "notebook", "--execute", "results.ipynb",
            "--output", "results.executed.ipynb",
            "--ExecutePreprocessor.kernel_name=python3",
            "--ExecutePreprocessor.timeout=600",
        ],
        cwd=notebooks, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    return default_run, json.loads((notebooks / "results.executed.ipynb").read_text())


@pytest.mark.slow
def test_every_cell_ran_in_order_without_errors(executed):
    _, notebook = executed
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    outputs = [output for cell in code for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    streams = "".join(
        "".join(output["text"])
        for output in outputs
        if output["output_type"] == "stream"
    )
    assert "Traceback" not in streams


@pytest.mark.slow
def test_the_table_shows_every_row_of_the_runs_results_table(executed):
    project, notebook = executed
    expected = pd.read_csv(_latest(project / "data" / "08_reporting", "results.csv"))
    outputs = _outputs(notebook, "results-table")
    trained = int((expected["status"] == "trained").sum())
    assert (
        f"**{trained} of {len(expected)} approaches have results.**"
        in _data(outputs, "text/markdown")[0]
    )
    tables = [text for text in _data(outputs, "text/html") if "test %" in text]
    assert len(tables) == 1
    rows = _html_rows(tables[0])
    assert len(rows) == len(expected) == 26
    # family, approach, status, framework, ..., test %, reference %, difference
    assert [row[:4] for row in rows] == expected[
        ["family", "approach", "status", "framework"]
    ].values.tolist()
    for row, accuracy in zip(rows, expected["test_accuracy"], strict=True):
        assert row[7] == ("NaN" if pd.isna(accuracy) else f"{round(100 * accuracy, 1)}")
    assert {row[0] for row in rows} == {
        "glove_haiku", "conv1d_flax", "rnn_torch", "lstm_mxnet", "glove_gluonnlp",
        "baselines", "ensemble",
    }  # fmt: skip


@pytest.mark.slow
def test_the_bar_chart_is_a_real_image(executed):
    _, notebook = executed
    images = _data(_outputs(notebook, "accuracy-chart"), "image/png")
    assert len(images) == 1
    image = Image.open(io.BytesIO(base64.b64decode(images[0])))
    assert image.format == "PNG"
    assert image.size[0] > 800 and image.size[1] > 400
    colours = image.convert("RGB").getcolors(maxcolors=image.size[0] * image.size[1])
    assert len(colours) > 50  # bars in two colours, labels, anti-aliased text


@pytest.mark.slow
def test_the_lime_explanation_is_the_best_trained_approachs(executed):
    project, notebook = executed
    reporting = project / "data" / "08_reporting"
    table = pd.read_csv(_latest(reporting, "results.csv"))
    neural = table[
        (table["status"] == "trained") & ~table["family"].isin(["baselines", "ensemble"])
    ]
    best = neural.loc[neural["test_accuracy"].idxmax()]
    folder = reporting / best["family"] / best["approach"]
    summary = json.loads(_latest(folder, "lime_explanation.json").read_text())

    outputs = _outputs(notebook, "lime-explanation")
    markdown = _data(outputs, "text/markdown")[0]
    assert markdown.startswith(f"**{best['family']}.{best['approach']}** ")
    assert f"test accuracy {100 * best['test_accuracy']:.1f} %" in markdown
    assert f"true class **{summary['true_label_name']}**" in markdown
    assert f"predicted **{summary['predicted_label_name']}**" in markdown
    html_outputs = _data(outputs, "text/html")
    top_word = summary["word_weights"][0][0]
    assert any(f">{html.escape(top_word)}</td>" in text for text in html_outputs)
    # The explanation itself: LIME's own HTML page, exactly as the run saved it.
    saved = _latest(folder, "lime_explanation.html").read_text()
    assert html_outputs[-1] == saved
    assert "lime" in saved.lower()
