"""Render a ``kedro viz build`` in headless Chromium, check it, take a screenshot.

The static build is served over HTTP on 127.0.0.1 (the app fetches ``api/main`` and
friends with ``fetch``, which a ``file://`` page cannot do) and Chromium is driven over
the DevTools protocol on a pipe (``--remote-debugging-pipe``), so nothing beyond the
standard library, Pillow (a Matplotlib dependency) and Debian's ``chromium`` is needed.
The rendered DOM is compared with the graph ``kedro viz build`` wrote: every pipeline in
the selector, every layer band in order, every task and dataset node of the selected
pipeline.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import io
import json
import os
import select
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from PIL import Image

from tools.sandbox import run_kedro

LAYERS = ("raw", "primary", "feature", "models", "model_output", "reporting")
SKIP_ENV = "AGNEWS_SKIP_BROWSER"
CHROMIUM_ENV = "CHROMIUM"
INSTALL_HINT = (
    "install Debian's Chromium with `apt-get install -y chromium` (it provides "
    f"/usr/bin/chromium), or point {CHROMIUM_ENV}=/path/to/chromium at another build"
)

# Without the background-networking flags Chromium opens connections of its own and
# the sandbox refuses them many at a time; the resolver rule keeps the page's Google
# Fonts links from leaving the machine, so a check never depends on the internet.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)

# Kedro-Viz keeps its settings in localStorage under "KedroViz"; turning the feature
# tour and the minimap off (user settings) keeps them from covering the graph.
_SETTINGS_SCRIPT = """
(() => {
  const stored = JSON.parse(window.localStorage.getItem("KedroViz") || "{}");
  stored.showFeatureHints = false;
  stored.visible = Object.assign({}, stored.visible, { miniMap: false });
  window.localStorage.setItem("KedroViz", JSON.stringify(stored));
})();
"""

# Reads what the React app rendered: the pipeline selector, the layer bands (top to
# bottom) and the graph's nodes.
_EXTRACT_SCRIPT = """
JSON.stringify({
  selected: Array.from(
    document.querySelectorAll(
      '[data-test="kedro-pipeline-selector"] .dropdown__label span'
    )
  ).map((e) => e.textContent.trim()).filter((t) => t)[0] || null,
  pipelines: Array.from(
    document.querySelectorAll('.pipeline-list .menu-option__content[title]')
  ).map((e) => e.getAttribute('title')),
  layers: Array.from(document.querySelectorAll('.pipeline-layer-name'))
    .map((e) => [e.textContent.trim(), e.getBoundingClientRect().top])
    .sort((a, b) => a[1] - b[1]).map((pair) => pair[0]),
  layerBands: document.querySelectorAll('.pipeline-layer').length,
  nodes: Array.from(
    document.querySelectorAll('.pipeline-flowchart__nodes .pipeline-node')
  )
    .map((e) => [
      e.getAttribute('data-id'),
      (e.querySelector('.pipeline-node__text') || {}).textContent || '',
    ]),
})
"""


class VizCheckError(RuntimeError):
    """The build, the browser or the rendered page did not pass the check."""

    def __init__(self, message: str, screenshot: bytes | None = None) -> None:
        super().__init__(message)
        self.screenshot = screenshot


@dataclass(frozen=True)
class ExpectedView:
    """What the page must show for one pipeline, read from ``build/api/main``."""

    pipeline: str
    pipelines: tuple[str, ...]
    layers: tuple[str, ...]
    nodes: dict[str, str]


@dataclass(frozen=True)
class RenderedView:
    """What the page showed, read from the DOM after the app ran."""

    selected: str | None
    pipelines: tuple[str, ...]
    layers: tuple[str, ...]
    layer_bands: int
    nodes: dict[str, str]


@dataclass
class CheckResult:
    """A passed check: the screenshot and what it was compared against."""

    png: bytes
    rendered: RenderedView
    expected: ExpectedView
    requested: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def find_chromium(explicit: str | None = None) -> str | None:
    """Return the Chromium executable to use, or None when there is none."""
    # which() also checks that an explicit path is an executable file.
    return shutil.which(explicit or os.environ.get(CHROMIUM_ENV) or "chromium")


def build_viz(project: Path) -> Path:
    """Run ``kedro viz build`` in ``project`` and return its ``build/`` folder."""
    result = run_kedro(project, "viz", "build", timeout=600)
    graph = project / "build" / "api" / "main"
    if result.returncode != 0 or not graph.is_file():
        raise VizCheckError(
            f"`kedro viz build` in {project} exited with code {result.returncode} and "
            f"{'wrote' if graph.is_file() else 'did not write'} {graph}:\n"
            + (result.stdout + result.stderr)[-4000:]
        )
    return graph.parents[1]


def expected_view(api_main: dict[str, Any], pipeline: str) -> ExpectedView:
    """The pipelines, layer bands and nodes Kedro-Viz should draw for ``pipeline``."""
    pipelines = tuple(entry["id"] for entry in api_main["pipelines"])
    if pipeline not in pipelines:
        raise VizCheckError(
            f"build/api/main has no pipeline '{pipeline}'; "
            f"it has: {', '.join(pipelines)}"
        )
    members = [node for node in api_main["nodes"] if pipeline in node["pipelines"]]
    used = {node.get("layer") for node in members if node["type"] == "data"}
    return ExpectedView(
        pipeline=pipeline,
        pipelines=pipelines,
        layers=tuple(layer for layer in api_main["layers"] if layer in used),
        # Parameters are hidden by Kedro-Viz's default filters; modular pipelines
        # disappear once expanded.
        nodes={n["id"]: n["name"] for n in members if n["type"] in ("task", "data")},
    )


def parse_rendered(extracted: str) -> RenderedView:
    """Turn the JSON the extraction script returned into a ``RenderedView``."""
    raw = json.loads(extracted)
    return RenderedView(
        selected=raw["selected"],
        pipelines=tuple(raw["pipelines"]),
        layers=tuple(raw["layers"]),
        layer_bands=int(raw["layerBands"]),
        nodes={node_id: label for node_id, label in raw["nodes"] if node_id},
    )


def _listed(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


def rendered_problems(rendered: RenderedView, expected: ExpectedView) -> list[str]:
    """Every way the rendered page differs from what the build says it should show."""
    problems = []
    if rendered.selected != expected.pipeline:
        problems.append(
            f"pipeline selector shows {rendered.selected!r}, "
            f"expected {expected.pipeline!r}"
        )
    missing = set(expected.pipelines) - set(rendered.pipelines)
    if missing:
        problems.append(f"pipeline list lacks: {_listed(missing)}")
    if rendered.layers != expected.layers:
        problems.append(
            f"layer bands top to bottom are [{', '.join(rendered.layers)}], "
            f"expected [{', '.join(expected.layers)}]"
        )
    if rendered.layer_bands != len(expected.layers):
        problems.append(
            f"{rendered.layer_bands} layer band(s) drawn, "
            f"expected {len(expected.layers)}"
        )
    missing_nodes = [
        expected.nodes[i] for i in set(expected.nodes) - set(rendered.nodes)
    ]
    if missing_nodes:
        problems.append(
            f"{len(missing_nodes)} of {len(expected.nodes)} nodes not drawn: "
            f"{_listed(missing_nodes)}"
        )
    extra = set(rendered.nodes) - set(expected.nodes)
    if extra:
        problems.append(f"nodes drawn that the pipeline lacks: {_listed(extra)}")
    wrong = {
        node_id
        for node_id in set(rendered.nodes) & set(expected.nodes)
        if rendered.nodes[node_id] != expected.nodes[node_id]
    }
    if wrong:
        problems.append(
            "node labels differ from the build: "
            + ", ".join(
                f"{rendered.nodes[i]!r} != {expected.nodes[i]!r}" for i in sorted(wrong)
            )
        )
    return problems


def png_problems(png: bytes, width: int, height: int) -> list[str]:
    """Why ``png`` is not a real screenshot of the given size (empty list: it is)."""
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except Exception as error:  # any decoding failure is the finding
        return [f"screenshot is not a readable PNG ({error})"]
    problems = []
    if image.format != "PNG":
        problems.append(f"screenshot is {image.format}, not PNG")
    if image.size != (width, height):
        problems.append(
            f"screenshot is {image.size[0]}x{image.size[1]}, expected {width}x{height}"
        )
    colours = image.convert("RGB").getcolors(maxcolors=width * height) or []
    if len(colours) <= 1:
        problems.append("screenshot is a single colour (blank page)")
    else:
        background = max(count for count, _ in colours)
        if background > 0.98 * image.size[0] * image.size[1]:
            problems.append(
                f"screenshot is {background / (image.size[0] * image.size[1]):.1%} one "
                "colour: the graph did not render"
            )
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and remembers the paths requested, without logging to stderr."""

    def __init__(self, *args: Any, requested: list[str], **kwargs: Any) -> None:
        self._requested = requested
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        """Record the request line instead of printing it."""
        self._requested.append(self.path)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``directory`` on a free port of 127.0.0.1 in a thread.

    Yields:
        The base URL and the (growing) list of request paths the server answered.
    """
    requested: list[str] = []
    handler = functools.partial(
        _QuietHandler, directory=str(directory), requested=requested
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _DevTools:
    """A minimal DevTools-protocol client over Chromium's ``--remote-debugging-pipe``.

    Chromium reads NUL-terminated JSON commands from its fd 3 and writes replies and
    events to its fd 4.
    """

    def __init__(self, chromium: str, width: int, height: int, workdir: Path) -> None:
        to_browser_r, self._write_fd = os.pipe()
        self._read_fd, from_browser_w = os.pipe()
        self._stderr_path = workdir / "chromium.stderr"
        profile = workdir / "profile"
        profile.mkdir()
        argv = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        try:
            # posix_spawn's dup2 actions put the pipe ends on fds 3 and 4 without
            # running Python in the child (this process also runs a server thread).
            # Our pipe fds are close-on-exec, so only 3 and 4 reach the browser.
            self.pid = os.posix_spawn(
                chromium,
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (
                        os.POSIX_SPAWN_OPEN,
                        1,
                        str(self._stderr_path),
                        os.O_WRONLY | os.O_CREAT,
                        0o644,
                    ),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                    (os.POSIX_SPAWN_DUP2, to_browser_r, 3),
                    (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
                ],
                setsid=True,
            )
        except OSError as error:
            os.close(self._write_fd)
            os.close(self._read_fd)
            raise VizCheckError(
                f"could not start Chromium at {chromium}: {error}"
            ) from error
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def stderr_tail(self) -> str:
        """The end of what Chromium printed, for error messages."""
        text = self._stderr_path.read_text(errors="replace")
        lines = [line for line in text.splitlines() if "dbus" not in line]
        return "\n".join(lines[-15:])

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._read_fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise VizCheckError(
                    f"Chromium exited before answering:\n{self.stderr_tail()}"
                )
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send one command (to the attached page, if any) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {
            "id": self._next_id,
            "method": method,
            "params": params,
        }
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._receive(deadline)
            except TimeoutError:
                raise VizCheckError(
                    f"Chromium did not answer {method} within {timeout:.0f} s"
                ) from None
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise VizCheckError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def attach_to_page(self) -> None:
        """Attach to the page Chromium opened, so page commands have a session."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = self.call("Target.getTargets")["targetInfos"]
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                self.session = self.call(
                    "Target.attachToTarget", targetId=pages[0]["targetId"], flatten=True
                )["sessionId"]
                return
            time.sleep(0.2)
        raise VizCheckError("Chromium opened no page target within 30 s")

    def close(self) -> None:
        """Close the browser; kill its process group if it does not go."""
        with contextlib.suppress(VizCheckError, OSError):
            self.session = None
            self.call("Browser.close", timeout=10)
        try:
            if not self._exited_within(15):
                os.killpg(self.pid, signal.SIGKILL)
                self._exited_within(15)
        finally:
            os.close(self._write_fd)
            os.close(self._read_fd)

    def _exited_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return True
            time.sleep(0.1)
        return False


def _page_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        if event.get("method") == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            description = (
                details.get("exception", {}).get("description") or details["text"]
            )
            errors.append(f"uncaught exception: {description.splitlines()[0]}")
    return errors


def check_build(
    build: Path,
    *,
    chromium: str,
    pipeline: str = "glove_haiku",
    width: int = 1920,
    height: int = 1200,
    timeout: float = 120,
    settle: float = 1.5,
) -> CheckResult:
    """Serve ``build``, open ``pipeline`` expanded in Chromium, check it, screenshot it.

    Raises:
        VizCheckError: naming every difference between the page and ``build/api/main``
            (the screenshot taken so far rides on the exception).
    """
    expected = expected_view(json.loads((build / "api" / "main").read_text()), pipeline)
    with serve(build) as (base_url, requested), tempfile.TemporaryDirectory() as work:
        browser = _DevTools(chromium, width, height, Path(work))
        try:
            browser.attach_to_page()
            browser.call("Page.enable")
            browser.call("Runtime.enable")
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            browser.call(
                "Page.addScriptToEvaluateOnNewDocument", source=_SETTINGS_SCRIPT
            )
            query = urlencode({"pid": pipeline, "expandAllPipelines": "true"})
            browser.call("Page.navigate", url=f"{base_url}?{query}")
            rendered, problems = _wait_for_graph(browser, expected, timeout)
            if not problems:
                # The app fades nodes in and zooms to fit after layout; its fit leaves
                # the widest layer a little under the sidebar, so step out once.
                time.sleep(settle)
                browser.call(
                    "Runtime.evaluate",
                    expression=(
                        "document.querySelector('[data-test=\"sidebar-zoom-out-btn\"]')"
                        "?.click()"
                    ),
                )
                time.sleep(settle)
                rendered, problems = _inspect(browser, expected)
            png = base64.b64decode(
                browser.call("Page.captureScreenshot", format="png")["data"]
            )
        finally:
            browser.close()
        errors = _page_errors(browser.events)
        problems += png_problems(png, width, height)
        if "/api/main" not in requested:
            problems.append(
                "the page never requested /api/main from the server: "
                f"it asked for {', '.join(requested) or 'nothing'}"
            )
        if problems:
            raise VizCheckError(
                f"Kedro-Viz at {base_url} (pipeline {pipeline!r}) did not render as "
                "build/api/main describes:\n  - "
                + "\n  - ".join(problems + errors)
                + ("\nChromium said:\n" + browser.stderr_tail() if errors else ""),
                screenshot=png,
            )
        return CheckResult(png, rendered, expected, list(requested), errors)


def _inspect(
    browser: _DevTools, expected: ExpectedView
) -> tuple[RenderedView, list[str]]:
    result = browser.call(
        "Runtime.evaluate", expression=_EXTRACT_SCRIPT, returnByValue=True
    )
    if "exceptionDetails" in result:
        raise VizCheckError(f"reading the DOM failed: {result['exceptionDetails']}")
    rendered = parse_rendered(result["result"]["value"])
    return rendered, rendered_problems(rendered, expected)


def _wait_for_graph(
    browser: _DevTools, expected: ExpectedView, timeout: float
) -> tuple[RenderedView, list[str]]:
    """Poll the DOM until it matches (layout runs in a web worker) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        rendered, problems = _inspect(browser, expected)
        if not problems or time.monotonic() > deadline:
            return rendered, problems
        time.sleep(0.5)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a sibling temporary file, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
