"""A versioned, fsspec-backed dataset of one file: the plumbing every file dataset shares."""

from __future__ import annotations

from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)


class FileDataset(AbstractVersionedDataset[Any, Any]):
    """Base class: subclasses read and write one file; this class resolves its path.

    Saves are all-or-nothing without code here: ``agnews_pipeline.atomic_files``
    makes every local write of every dataset go through a temporary sibling.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        fs_args = deepcopy(fs_args) or {}
        protocol, path = get_protocol_and_path(filepath, version)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _read(self, path: str) -> Any:
        raise NotImplementedError

    def _write(self, data: Any, path: str) -> None:
        raise NotImplementedError

    def load(self) -> Any:
        """Read the (latest, or pinned) version of the file."""
        path = get_filepath_str(self._get_load_path(), self._protocol)
        if not self._fs.exists(path):
            raise DatasetError(f"{type(self).__name__}: no file at '{path}'")
        return self._read(path)

    def save(self, data: Any) -> None:
        """Write the (new version of the) file."""
        self._write(data, get_filepath_str(self._get_save_path(), self._protocol))
        self._invalidate_cache()

    def _exists(self) -> bool:
        try:
            path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(path)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
        }

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))
