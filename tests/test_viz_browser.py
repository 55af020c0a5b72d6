"""Kedro-Viz's static build, served on localhost and rendered by headless Chromium.

The browser tests need Debian's ``chromium`` (``apt-get install -y chromium``). Without
it they fail, saying how to install it, unless AGNEWS_SKIP_BROWSER=1 is set.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest
from PIL import Image

from tools.sandbox import PROJECT_ROOT, copy_project
from tools.viz_check import (
    INSTALL_HINT,
    LAYERS,
    SKIP_ENV,
    ExpectedView,
    RenderedView,
    VizCheckError,
    build_viz,
    check_build,
    expected_view,
    find_chromium,
    parse_rendered,
    png_problems,
    rendered_problems,
    serve,
)

SCRIPT = PROJECT_ROOT / "scripts" / "viz_screenshot.py"
WIDTH, HEIGHT = 1280, 800

# A hand-made build/api/main: two pipelines, one parameter node, three layers used
# by "small" out of four declared.
API_MAIN = {
    "layers": ["raw", "primary", "models", "reporting"],
    "pipelines": [{"id": "small", "name": "small"}, {"id": "__default__", "name": "x"}],
    "nodes": [
        {"id": "a", "name": "raw_csv", "type": "data", "layer": "raw",
         "pipelines": ["small", "__default__"]},
        {"id": "b", "name": "split_node", "type": "task",
         "pipelines": ["small", "__default__"]},
        {"id": "c", "name": "train_split", "type": "data", "layer": "primary",
         "pipelines": ["small", "__default__"]},
        {"id": "d", "name": "params:split", "type": "parameters", "layer": None,
         "pipelines": ["small", "__default__"]},
        {"id": "e", "name": "report", "type": "data", "layer": "reporting",
         "pipelines": ["small", "__default__"]},
        {"id": "f", "name": "model", "type": "data", "layer": "models",
         "pipelines": ["__default__"]},
    ],
}  # fmt: skip


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _matching_view(expected: ExpectedView) -> RenderedView:
    return RenderedView(
        selected=expected.pipeline,
        pipelines=expected.pipelines,
        layers=expected.layers,
        layer_bands=len(expected.layers),
        nodes=dict(expected.nodes),
    )


def test_expected_view_lists_the_pipelines_layers_and_drawn_nodes_of_one_pipeline():
    expected = expected_view(API_MAIN, "small")
    assert expected == ExpectedView(
        pipeline="small",
        pipelines=("small", "__default__"),
        layers=("raw", "primary", "reporting"),
        nodes={"a": "raw_csv", "b": "split_node", "c": "train_split", "e": "report"},
    )


def test_expected_view_of_an_unknown_pipeline_names_the_ones_there_are():
    with pytest.raises(
        VizCheckError, match=r"no pipeline 'nope'; it has: small, __default__"
    ):
        expected_view(API_MAIN, "nope")


def test_parse_rendered_reads_the_extraction_json():
    rendered = parse_rendered(
        json.dumps(
            {
                "selected": "small",
                "pipelines": ["small", "__default__"],
                "layers": ["raw", "primary"],
                "layerBands": 2,
                "nodes": [["a", "raw_csv"], [None, "ignored"], ["b", "split_node"]],
            }
        )
    )
    assert rendered == RenderedView(
        selected="small",
        pipelines=("small", "__default__"),
        layers=("raw", "primary"),
        layer_bands=2,
        nodes={"a": "raw_csv", "b": "split_node"},
    )


def test_a_page_that_matches_the_build_has_no_problems():
    expected = expected_view(API_MAIN, "small")
    assert rendered_problems(_matching_view(expected), expected) == []


def test_every_difference_from_the_build_is_named():
    expected = expected_view(API_MAIN, "small")
    rendered = RenderedView(
        selected="__default__",
        pipelines=("__default__",),
        layers=("primary", "raw"),
        layer_bands=1,
        nodes={"a": "raw_csv", "b": "other_label", "z": "stray"},
    )
    assert rendered_problems(rendered, expected) == [
        "pipeline selector shows '__default__', expected 'small'",
        "pipeline list lacks: small",
        "layer bands top to bottom are [primary, raw], "
        "expected [raw, primary, reporting]",
        "1 layer band(s) drawn, expected 3",
        "2 of 4 nodes not drawn: report, train_split",
        "nodes drawn that the pipeline lacks: z",
        "node labels differ from the build: 'other_label' != 'split_node'",
    ]


def test_png_problems_accepts_a_varied_image_of_the_right_size():
    image = Image.new("RGB", (40, 30), "black")
    image.paste(Image.new("RGB", (20, 30), "white"), (0, 0))
    assert png_problems(_png(image), 40, 30) == []


def test_png_problems_rejects_blank_wrong_sized_and_non_png_screenshots():
    assert png_problems(_png(Image.new("RGB", (40, 30), "white")), 40, 30) == [
        "screenshot is a single colour (blank page)"
    ]
    almost_blank = Image.new("RGB", (100, 100), "black")
    almost_blank.putpixel((0, 0), (255, 255, 255))
    assert png_problems(_png(almost_blank), 100, 100) == [
        "screenshot is 100.0% one colour: the graph did not render"
    ]
    varied = Image.new("RGB", (40, 30), "black")
    varied.paste(Image.new("RGB", (20, 30), "white"), (0, 0))
    assert png_problems(_png(varied), 80, 30) == ["screenshot is 40x30, expected 80x30"]
    jpeg = io.BytesIO()
    varied.save(jpeg, format="JPEG")
    assert png_problems(jpeg.getvalue(), 40, 30) == ["screenshot is JPEG, not PNG"]
    assert png_problems(b"not an image", 40, 30)[0].startswith(
        "screenshot is not a readable PNG"
    )


def test_serve_answers_over_http_and_records_the_paths(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "main").write_text('{"ok": true}')
    with serve(tmp_path) as (base_url, requested):
        assert base_url.startswith("http://127.0.0.1:")
        with urlopen(f"{base_url}api/main") as response:
            assert json.loads(response.read()) == {"ok": True}
    assert requested == ["/api/main"]


def test_find_chromium_returns_none_for_a_missing_executable(tmp_path):
    assert find_chromium(str(tmp_path / "no-such-chromium")) is None


# --- in the browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path; fails (or skips, with AGNEWS_SKIP_BROWSER=1) without one."""
    found = find_chromium()
    if found is None:
        message = (
            f"Chromium not found: {INSTALL_HINT}. Set {SKIP_ENV}=1 to skip the "
            "browser tests explicitly."
        )
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(message)
        pytest.fail(message)
    return found


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory) -> Path:
    """`kedro viz build` in a fresh copy of the project (no run needed before)."""
    return build_viz(copy_project(tmp_path_factory.mktemp("viz") / "project"))


@pytest.mark.slow
def test_glove_haiku_renders_every_pipeline_layer_and_node(chromium, viz_build):
    api_main = json.loads((viz_build / "api" / "main").read_text())
    result = check_build(viz_build, chromium=chromium, width=WIDTH, height=HEIGHT)

    rendered = result.rendered
    assert rendered.selected == "glove_haiku"
    assert set(rendered.pipelines) == {p["id"] for p in api_main["pipelines"]}
    assert {"glove_haiku", "__default__", "ingestion"} <= set(rendered.pipelines)
    assert rendered.layers == LAYERS
    assert rendered.layer_bands == len(LAYERS)
    assert rendered.nodes == result.expected.nodes
    labels = sorted(rendered.nodes.values())
    # Three approaches, each trained, evaluated and explained in its namespace.
    assert labels.count("train_model_node") == 3
    assert labels.count("explain_article_node") == 3
    for name in (
        "ag_news_train_raw",
        "split_train_validation_node",
        "keras_6b_50d_glove_matrix",
        "glove_haiku.mean.trained_model",
        "glove_haiku.sum.test_predictions",
        "glove_haiku.flatten.metrics",
    ):
        assert name in labels, name
    # The app fetched its graph from the server, not from a file:// path.
    assert "/api/main" in result.requested
    assert "/api/pipelines/glove_haiku" in result.requested
    image = Image.open(io.BytesIO(result.png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    assert png_problems(result.png, WIDTH, HEIGHT) == []


@pytest.mark.slow
def test_a_stage_pipeline_shows_only_its_own_layers(chromium, viz_build):
    result = check_build(
        viz_build, chromium=chromium, pipeline="ingestion", width=WIDTH, height=HEIGHT
    )
    assert result.rendered.selected == "ingestion"
    assert result.rendered.layers == ("raw", "primary")
    assert sorted(result.rendered.nodes.values()) == [
        "ag_news_test",
        "ag_news_test_raw",
        "ag_news_train",
        "ag_news_train_raw",
        "ag_news_validation",
        "prepare_test_split_node",
        "split_train_validation_node",
    ]


@pytest.mark.slow
def test_a_graph_that_does_not_render_fully_fails_naming_the_missing_nodes(
    chromium, viz_build, tmp_path
):
    # The app draws a selected pipeline from api/pipelines/<id>; drop one dataset
    # from what it is served while api/main still lists it.
    broken = tmp_path / "build"
    shutil.copytree(viz_build, broken)
    served = broken / "api" / "pipelines" / "ingestion"
    graph = json.loads(served.read_text())
    dropped = next(n for n in graph["nodes"] if n["name"] == "ag_news_validation")
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != dropped["id"]]
    graph["edges"] = [
        e for e in graph["edges"] if dropped["id"] not in (e["source"], e["target"])
    ]
    served.write_text(json.dumps(graph))
    with pytest.raises(VizCheckError) as failure:
        check_build(
            broken,
            chromium=chromium,
            pipeline="ingestion",
            width=WIDTH,
            height=HEIGHT,
            timeout=15,
        )
    assert "1 of 7 nodes not drawn: ag_news_validation" in str(failure.value)
    assert failure.value.screenshot and failure.value.screenshot.startswith(b"\x89PNG")


def _load_script():
    spec = importlib.util.spec_from_file_location("viz_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_script_writes_a_checked_screenshot(chromium, tmp_path):
    output = tmp_path / "images" / "kedro_viz.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(output), f"--width={WIDTH}",
         f"--height={HEIGHT}", f"--chromium={chromium}"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "viz check passed: pipeline 'glove_haiku' shows" in result.stderr
    assert (
        "layers raw > primary > feature > models > model_output > reporting"
        in result.stderr
    )
    assert f"wrote {output} ({output.stat().st_size} bytes)" in result.stderr
    assert Image.open(output).size == (WIDTH, HEIGHT)
    assert png_problems(output.read_bytes(), WIDTH, HEIGHT) == []
    assert [p.name for p in output.parent.iterdir()] == ["kedro_viz.png"]


@pytest.mark.slow
def test_the_script_fails_clearly_and_keeps_the_old_screenshot(
    chromium, tmp_path, caplog
):
    output = tmp_path / "kedro_viz.png"
    output.write_bytes(b"previous")
    code = _load_script().main(
        [str(output), "--pipeline=no_such_pipeline", f"--chromium={chromium}"]
    )
    assert code == 1
    assert output.read_bytes() == b"previous"
    assert (
        "viz check failed: build/api/main has no pipeline 'no_such_pipeline'; "
        "it has: ingestion, text_features"
    ) in caplog.text


def test_the_script_says_how_to_install_chromium_when_it_is_missing(tmp_path, caplog):
    output = tmp_path / "kedro_viz.png"
    code = _load_script().main([str(output), f"--chromium={tmp_path / 'none'}"])
    assert code == 1
    assert not output.exists()
    assert (
        "viz check failed: Chromium not found; install Debian's Chromium with "
        "`apt-get install -y chromium`"
    ) in caplog.text
