"""The one place MXNet is imported: the NumPy alias and the OpenMP thread default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import os, numpy\n"
    "from agnews_pipeline.mxnet_compat import import_mxnet\n"
    "assert 'bool' not in vars(numpy)\n"
    "mx = import_mxnet()\n"
    "assert numpy.bool is bool and mx.nd.ones((2, 2)).sum().asscalar() == 4\n"
    "print(os.environ.get('OMP_NUM_THREADS', 'unset'))\n"
)


def _probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_the_thread_default_does_not_leak_into_the_environment():
    # torch (rnn_torch) reads OMP_NUM_THREADS after MXNet may have loaded in the
    # same kedro run: MXNet's default must not become the other backends' setting.
    assert _probe() == "unset"


@pytest.mark.parametrize("threads", ["1", "3"])
def test_an_explicit_openmp_setting_is_kept(threads):
    assert _probe(OMP_NUM_THREADS=threads) == threads
