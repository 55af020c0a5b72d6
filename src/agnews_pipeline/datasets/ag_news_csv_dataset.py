"""The AG News CSV release as a Kedro dataset, parsed strictly."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from copy import deepcopy
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
from kedro.io.core import DatasetError, get_filepath_str, get_protocol_and_path

from agnews_pipeline.atomic_files import AtomicLocalFileSystem
from agnews_pipeline.classifier import CLASS_NAMES

from ._file_dataset import FileDataset

logger = logging.getLogger(__name__)

_REMOTE_PROTOCOLS = {"http", "https"}
_HASH_CHUNK = 1 << 20
_DEFAULT_REMOTE_HINT = (
    "Download the file yourself and point the dataset's filepath at the local copy."
)


class AGNewsCSVDataset(FileDataset):
    """Reads (and writes) AG News CSV: no header, class index 1-4, title, description.

    Loading returns a DataFrame with ``label`` (0-3), ``title``, ``description`` and
    ``text`` (title + " " + description). The corpus's own escapes (``\\`` for a line
    break, ``#36;`` for ``$``) are kept verbatim. Every row is checked; the first bad
    one stops the load with the file, the line number and what was expected.

    An ``http(s)`` file is downloaded once into ``cache_dir`` and read from there;
    with ``md5`` set, the file (local, cached or downloaded) must match the checksum.
    A download streams to a temporary sibling of ``<name>`` in ``cache_dir`` that is
    renamed to ``<name>`` only once complete and verified, so an interrupted or
    corrupt download never leaves a file a later load would trust. Connecting gives up after
    ``connect_timeout`` seconds and a stalled transfer after ``read_timeout`` seconds
    without data; either way the error names the URL, the cause and ``missing_hint``.

    Example catalog entry::

        ag_news_train_raw:
          type: agnews_pipeline.datasets.AGNewsCSVDataset
          filepath: ${globals:ag_news_source}/train.csv
          md5: b1a00f826fdfbd249f79597b59e1dc12
          cache_dir: data/full/01_raw/ag_news
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        filepath: str,
        md5: str | None = None,
        cache_dir: str | None = None,
        missing_hint: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, _ = get_protocol_and_path(filepath)
        if protocol in _REMOTE_PROTOCOLS:
            fs_args = _with_http_timeouts(fs_args, connect_timeout, read_timeout)
        super().__init__(
            filepath=filepath,
            credentials=credentials,
            fs_args=fs_args,
            metadata=metadata,
        )
        self._source = filepath
        self._md5 = md5.lower() if md5 else None
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._missing_hint = missing_hint

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._source, "md5": self._md5, "cache_dir": self._cache_dir}

    def load(self) -> pd.DataFrame:
        """Fetch (if remote), verify and parse the file."""
        raw, where = self._read_bytes()
        if self._md5 is not None:
            self._verify_md5(raw, where)
        return parse_ag_news_csv(raw, where)

    def _read(self, path: str) -> pd.DataFrame:  # pragma: no cover - load() overrides
        raise NotImplementedError

    def _write(self, data: pd.DataFrame, path: str) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for label, title, description in zip(
            data["label"], data["title"], data["description"], strict=True
        ):
            writer.writerow([int(label) + 1, title, description])
        with self._fs.open(path, "wb") as file:
            file.write(buffer.getvalue().encode("utf-8"))

    def _read_bytes(self) -> tuple[bytes, str]:
        path = get_filepath_str(self._filepath, self._protocol)
        if self._protocol in _REMOTE_PROTOCOLS:
            if self._cache_dir is not None:
                return self._read_through_cache(path)
            return self._fetch(path), path
        if not self._fs.exists(path):
            self._raise_missing(self._source)
        with self._fs.open(path, "rb") as file:
            return file.read(), self._source

    def _read_through_cache(self, url: str) -> tuple[bytes, str]:
        """The cached copy if it checks out, else a fresh, verified download."""
        cached = self._cache_dir / Path(url).name
        if cached.exists():
            raw = cached.read_bytes()
            if self._md5 is None or _md5(raw) == self._md5:
                return raw, str(cached)
            logger.warning("Cached %s does not match its checksum; fetching again", cached)
        self._download(url, cached)
        return cached.read_bytes(), url

    def _download(self, url: str, target: Path) -> None:
        """Stream ``url`` into ``target``, which appears only once complete and verified."""
        logger.info("Downloading %s into %s", url, target)
        # The project's atomic writes: a failed or killed download, or one that fails
        # the checksum inside this block, leaves no file a later load would trust.
        local = AtomicLocalFileSystem(auto_mkdir=True)
        with local.open(str(target), "wb") as file:
            try:
                self._fs.get_file(url, file)
            except FileNotFoundError:
                self._raise_missing(url)
            except Exception as error:  # noqa: BLE001 - aiohttp, asyncio and OS errors alike
                raise self._download_error(url, error) from error
            file.flush()
            self._verify_md5_of_file(Path(file.temp), url)

    def _fetch(self, url: str) -> bytes:
        """Read a remote file into memory (no cache folder configured)."""
        try:
            return self._fs.cat_file(url)
        except FileNotFoundError:
            self._raise_missing(url)
        except Exception as error:  # noqa: BLE001 - aiohttp, asyncio and OS errors alike
            raise self._download_error(url, error) from error

    def _download_error(self, url: str, error: BaseException) -> DatasetError:
        cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return DatasetError(
            f"Could not download AG News file '{Path(url).name}' from '{url}' ({cause}); "
            f"nothing was cached. {self._missing_hint or _DEFAULT_REMOTE_HINT}"
        )

    def _verify_md5_of_file(self, path: Path, where: str) -> None:
        if self._md5 is not None:
            self._check_md5(_md5_of_file(path), where)

    def _verify_md5(self, raw: bytes, where: str) -> None:
        if self._md5 is not None:
            self._check_md5(_md5(raw), where)

    def _check_md5(self, found: str, where: str) -> None:
        if found != self._md5:
            raise DatasetError(
                f"{where}: MD5 checksum {found} does not match the expected {self._md5}; "
                "the file is incomplete or not the official AG News release"
            )

    def _raise_missing(self, where: str) -> NoReturn:
        message = f"AG News file '{Path(where).name}' not found: looked for it at '{where}'."
        if self._missing_hint:
            message += f" {self._missing_hint}"
        raise DatasetError(message)

    def _exists(self) -> bool:
        path = get_filepath_str(self._filepath, self._protocol)
        if self._protocol in _REMOTE_PROTOCOLS and self._cache_dir is not None:
            if (self._cache_dir / Path(path).name).exists():
                return True
        return self._fs.exists(path)


def _md5(raw: bytes) -> str:
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def _md5_of_file(path: Path) -> str:
    """The file's MD5, read in chunks (train.csv is 29 MB)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _with_http_timeouts(
    fs_args: dict[str, Any] | None, connect_timeout: float, read_timeout: float
) -> dict[str, Any]:
    """``fs_args`` with an aiohttp timeout unless the catalog already sets one.

    aiohttp's default gives up on a whole request after 5 minutes, which a slow but
    healthy 29 MB download can exceed, and waits 30 s to connect, which is a long
    hang offline. So: no total limit, a short connect limit, and a limit on silence.
    """
    import aiohttp  # noqa: PLC0415 - only http(s) sources need it

    fs_args = deepcopy(fs_args) or {}
    client_kwargs = fs_args.setdefault("client_kwargs", {})
    client_kwargs.setdefault(
        "timeout",
        aiohttp.ClientTimeout(
            total=None,
            connect=connect_timeout,
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        ),
    )
    return fs_args


def parse_ag_news_csv(raw: bytes, where: str) -> pd.DataFrame:
    """Parse AG News CSV bytes, failing on the first bad row with its line number."""
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DatasetError(
            f"{where}, line {line}: byte 0x{raw[error.start]:02x} is not valid UTF-8; "
            "expected UTF-8 text"
        ) from None
    labels: list[int] = []
    titles: list[str] = []
    descriptions: list[str] = []
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    line = 1
    try:
        for fields in reader:
            # reader.line_num counts physical lines; a row starts after the previous one.
            _check_row(fields, where, line)
            labels.append(int(fields[0]) - 1)
            titles.append(fields[1])
            descriptions.append(fields[2])
            line = reader.line_num + 1
    except csv.Error as error:
        raise DatasetError(
            f"{where}, line {line}: malformed CSV ({error}); expected three quoted "
            'fields with inner quotes doubled ("")'
        ) from None
    if not labels:
        raise DatasetError(f"{where}: no rows; expected AG News CSV rows")
    frame = pd.DataFrame(
        {
            "label": pd.Series(labels, dtype="int8"),
            "title": pd.Series(titles, dtype="string"),
            "description": pd.Series(descriptions, dtype="string"),
        }
    )
    frame["text"] = frame["title"] + " " + frame["description"]
    return frame


def _check_row(fields: list[str], where: str, line: int) -> None:
    if len(fields) != 3:
        raise DatasetError(
            f"{where}, line {line}: found {len(fields)} fields; expected 3 "
            "(class index, title, description)"
        )
    if fields[0].strip() not in {"1", "2", "3", "4"}:
        raise DatasetError(
            f"{where}, line {line}: class index {fields[0]!r} is outside 1-4 "
            f"({', '.join(f'{i + 1} {name}' for i, name in enumerate(CLASS_NAMES))})"
        )
    if not (fields[1].strip() or fields[2].strip()):
        raise DatasetError(
            f"{where}, line {line}: title and description are both empty; "
            "expected some text"
        )
