"""The one place MXNet is imported.

MXNet 1.9.1, its last release, still uses ``np.bool``, an alias NumPy 1.24 removed.
The alias is restored here, right before the import, and nowhere else, so nothing in
the project sees MXNet unless it runs an MXNet node.
"""

from __future__ import annotations

from types import ModuleType


def import_mxnet() -> ModuleType:
    """Import and return ``mxnet``, restoring the NumPy alias it needs first."""
    import numpy as np  # noqa: PLC0415

    if "bool" not in vars(np):  # hasattr() would trip a NumPy FutureWarning
        np.bool = bool  # type: ignore[attr-defined]
    import mxnet  # noqa: PLC0415

    return mxnet


def import_gluonnlp() -> ModuleType:
    """Import and return ``gluonnlp`` (which imports MXNet) after :func:`import_mxnet`."""
    import_mxnet()
    import gluonnlp  # noqa: PLC0415

    return gluonnlp
