"""Build Kedro-Viz, open it in headless Chromium, check it renders, save a screenshot.

Usage: python scripts/viz_screenshot.py [OUTPUT.png] [--pipeline glove_haiku]
       [--width 1920] [--height 1200] [--chromium /usr/bin/chromium] [--timeout 120]

Runs `kedro viz build` in a scratch copy of the project (nothing needs to have run
first), serves build/ over HTTP on 127.0.0.1 and opens the pipeline, expanded, in
Chromium. The rendered page must list every registered pipeline, draw the layer bands
raw -> reporting in order and every task and dataset node the build lists for the
pipeline; the screenshot must be a PNG of the window's size that is not one colour.
Only then is OUTPUT (default docs/images/kedro_viz.png) replaced; on a failed check the
script exits 1 naming each problem and keeps the failed page's screenshot in the
temporary folder (its path is in the message).

Needs Chromium: `apt-get install -y chromium` on Debian, or CHROMIUM=/path/to/chromium.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

# tools/ is not installed: the project root puts it on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.sandbox import PROJECT_ROOT, copy_project  # noqa: E402
from tools.viz_check import (  # noqa: E402
    INSTALL_HINT,
    CheckResult,
    VizCheckError,
    build_viz,
    check_build,
    find_chromium,
    write_atomically,
)

logger = logging.getLogger("viz_screenshot")

DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "images" / "kedro_viz.png"


def screenshot(
    output: Path,
    *,
    chromium: str,
    pipeline: str = "glove_haiku",
    width: int = 1920,
    height: int = 1200,
    timeout: float = 120,
) -> CheckResult:
    """Build Kedro-Viz in a scratch copy, check it in Chromium and write ``output``.

    Raises:
        VizCheckError: the build failed or the page did not render as the build
            describes; ``output`` is then left as it was.
    """
    with tempfile.TemporaryDirectory(prefix="viz_screenshot_") as scratch:
        project = copy_project(Path(scratch) / "project")
        logger.info("kedro viz build in %s", project)
        build = build_viz(project)
        logger.info("checking %s in %s", pipeline, chromium)
        result = check_build(
            build,
            chromium=chromium,
            pipeline=pipeline,
            width=width,
            height=height,
            timeout=timeout,
        )
    write_atomically(output, result.png)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the check from the command line; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--pipeline", default="glove_haiku")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1200)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument(
        "--chromium", help="Chromium executable (default: $CHROMIUM, chromium)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    chromium = find_chromium(args.chromium)
    if chromium is None:
        logger.error("viz check failed: Chromium not found; %s", INSTALL_HINT)
        return 1
    try:
        result = screenshot(
            args.output,
            chromium=chromium,
            pipeline=args.pipeline,
            width=args.width,
            height=args.height,
            timeout=args.timeout,
        )
    except VizCheckError as error:
        if error.screenshot:
            failed = Path(tempfile.gettempdir()) / f"{args.output.stem}.failed.png"
            write_atomically(failed, error.screenshot)
            logger.error("the failed page's screenshot is at %s", failed)
        logger.error("viz check failed: %s", error)
        return 1
    logger.info(
        "viz check passed: pipeline %r shows %d pipelines, layers %s and %d nodes; "
        "wrote %s (%d bytes)",
        args.pipeline,
        len(result.rendered.pipelines),
        " > ".join(result.rendered.layers),
        len(result.rendered.nodes),
        args.output,
        len(result.png),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
