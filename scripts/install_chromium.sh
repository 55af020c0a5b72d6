#!/usr/bin/env bash
# Makes sure the headless Chromium that tests/test_viz_browser.py drives is there
# (Debian's `chromium`), installing it with apt-get when it is missing. Never fails:
# without Chromium the browser tests fail themselves, saying how to install it.
set -uo pipefail
if [ "${AGNEWS_SKIP_BROWSER:-}" = 1 ] || [ -n "${CHROMIUM:-}" ] \
  || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
if command -v apt-get >/dev/null 2>&1 \
  && $SUDO apt-get update -q \
  && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; then
  echo "installed $(chromium --version 2>/dev/null)"
else
  echo "chromium is missing and apt-get could not install it: tests/test_viz_browser.py" \
    "will fail. Install Chromium (or set CHROMIUM=/path/to/chromium), or set" \
    "AGNEWS_SKIP_BROWSER=1 to skip the browser tests." >&2
fi
