"""JSON reports (metrics, run records), optionally versioned, loadable before they exist."""

from __future__ import annotations

import json
from typing import Any

from kedro.io.core import DatasetError, Version

from ._file_dataset import FileDataset


class JSONReportDataset(FileDataset):
    """A JSON document; with ``missing_ok`` it loads as ``None`` until saved.

    ``missing_ok`` is what lets the results table list approaches that were never
    trained: their metrics load as ``None`` instead of failing the run. With
    ``version_key``, a versioned document loads with the version it was read from
    under that key (the run that produced it), and the key is dropped on save.

    Example catalog entry::

        "{family}.{approach}.metrics":
          type: agnews_pipeline.datasets.JSONReportDataset
          filepath: data/08_reporting/{family}/{approach}/metrics.json
          versioned: true
          missing_ok: true
          version_key: saved_version
    """

    def __init__(
        self,
        *,
        filepath: str,
        missing_ok: bool = False,
        version_key: str | None = None,
        indent: int = 2,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            filepath=filepath,
            version=version,
            credentials=credentials,
            fs_args=fs_args,
            metadata=metadata,
        )
        self._missing_ok = missing_ok
        self._version_key = version_key
        self._indent = indent

    def load(self) -> Any:
        """Read the latest (or pinned) version; ``None`` if absent and ``missing_ok``."""
        if self._missing_ok and not self._exists():
            return None
        data = super().load()
        if self._version_key and self._version is not None and isinstance(data, dict):
            data = {**data, self._version_key: self.resolve_load_version()}
        return data

    def _read(self, path: str) -> Any:
        with self._fs.open(path, "r", encoding="utf-8") as file:
            text = file.read()
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(
                f"'{path}' is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}"
            ) from error

    def _write(self, data: Any, path: str) -> None:
        if self._version_key and isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != self._version_key}
        try:
            text = json.dumps(data, indent=self._indent, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise DatasetError(
                f"JSONReportDataset '{self._filepath}' cannot store the data as JSON: "
                f"{error}"
            ) from error
        with self._fs.open(path, "w", encoding="utf-8") as file:
            file.write(text + "\n")

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "missing_ok": self._missing_ok}
