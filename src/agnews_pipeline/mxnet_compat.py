"""The one place MXNet is imported.

MXNet 1.9.1, its last release, still uses ``np.bool``, an alias NumPy 1.24 removed.
The alias is restored here, right before the import, and nowhere else, so nothing in
the project sees MXNet unless it runs an MXNet node.

MXNet sizes its OpenMP pool when it loads and gives itself one thread per two
processors. On two dedicated cores one thread per processor trains ``bilstm_3layer``
in 184 s an epoch instead of 284 s (benchmarks/results/lstm_mxnet_sample.md), so that
is the default here; an explicit ``OMP_NUM_THREADS`` wins, and ``1`` is the better
choice on a machine shared with other busy processes.
"""

from __future__ import annotations

import os
from types import ModuleType


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def import_mxnet() -> ModuleType:
    """Import and return ``mxnet``: NumPy alias restored, one OpenMP thread per CPU."""
    import numpy as np  # noqa: PLC0415

    os.environ.setdefault("OMP_NUM_THREADS", str(_available_cpus()))
    if "bool" not in vars(np):  # hasattr() would trip a NumPy FutureWarning
        np.bool = bool  # type: ignore[attr-defined]
    import mxnet  # noqa: PLC0415

    return mxnet


def import_gluonnlp() -> ModuleType:
    """Import and return ``gluonnlp`` (which imports MXNet) after :func:`import_mxnet`."""
    import_mxnet()
    import gluonnlp  # noqa: PLC0415

    return gluonnlp
