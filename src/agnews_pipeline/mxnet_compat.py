"""The one place MXNet is imported.

MXNet 1.9.1, its last release, still uses ``np.bool``, an alias NumPy 1.24 removed.
The alias is restored here, right before the import, and nowhere else, so nothing in
the project sees MXNet unless it runs an MXNet node.

MXNet sizes its OpenMP pool from ``OMP_NUM_THREADS`` when it loads and otherwise gives
itself one thread per two processors; its fused LSTMs train faster with one per
processor (benchmarks/results/lstm_mxnet_sample.md), so that is the default here and an
explicit ``OMP_NUM_THREADS`` wins. The default is set only while MXNet loads and sizes
its pool: afterwards the environment is as it was, so torch, XLA or anything else that
reads ``OMP_NUM_THREADS`` later in the same ``kedro run`` is not steered by MXNet's
setting.
"""

from __future__ import annotations

import os
from types import ModuleType

from agnews_pipeline.training import available_cpus


def import_mxnet() -> ModuleType:
    """Import and return ``mxnet``: NumPy alias restored, one OpenMP thread per CPU."""
    import numpy as np  # noqa: PLC0415

    chosen = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = chosen or str(available_cpus())
    try:
        if "bool" not in vars(np):  # hasattr() would trip a NumPy FutureWarning
            np.bool = bool  # type: ignore[attr-defined]
        import mxnet  # noqa: PLC0415

        # The first operator creates MXNet's engine and OpenMP pool, which read the
        # variable once; after that it can go back to what it was.
        mxnet.nd.zeros((1,)).wait_to_read()
    finally:
        if chosen is None:
            del os.environ["OMP_NUM_THREADS"]
    return mxnet


def import_gluonnlp() -> ModuleType:
    """Import and return ``gluonnlp`` (which imports MXNet) after :func:`import_mxnet`."""
    import_mxnet()
    import gluonnlp  # noqa: PLC0415

    return gluonnlp
