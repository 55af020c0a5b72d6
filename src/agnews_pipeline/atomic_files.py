"""Every local file a dataset writes appears whole or not at all.

Kedro's runner saves an output with ``catalog.save(name, data)``, which calls the
dataset's ``save``; every file dataset (kedro-datasets' JSON, CSV, Parquet,
Matplotlib, Text and Pickle, the files of a ``PartitionedDataset``, this project's
own) then writes through ``fsspec.filesystem(protocol).open(path, "w...")``. The
catalog class is not a reliable place to intervene (``ParallelRunner`` always uses
``SharedMemoryDataCatalog``), nor are hooks (they see a dataset's name, not the
dataset, and no hook fires for a save that fails or that a hook itself makes). The
filesystem is the one place every save passes through, whatever the runner, the
catalog entry, a dataset factory or versioning, so :func:`install` (called by
``settings.py``) makes fsspec's local paths use :class:`AtomicLocalFileSystem`.

Its whole-file writes go to a temporary sibling, ``<name>.partial-<host>-<pid>-<random>``,
which is renamed over the target only when the writer closes the file without an
error; a failed or killed save leaves the previous file (or no file) in place. A
versioned save writes ``<filepath>/<version>/<name>`` this way too, so a version
folder holds its file, and can become the latest version, only once the file is
complete. The next write of the same target deletes the temporaries of killed
writers, in any version folder of a versioned file.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import re
import shutil
import socket
import time
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

PARTIAL_MARK = ".partial-"
# A temporary untouched this long belongs to a dead writer even when its process
# cannot be checked (another host on a shared disk); live writers keep writing.
STALE_PARTIAL_SECONDS = 3600
_HOST = re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"
_PROTOCOLS = ("file", "local")
_TEXT_ARGS = ("encoding", "errors", "newline")


def install() -> None:
    """Make fsspec open local paths (plain or ``file://``) with AtomicLocalFileSystem."""
    for protocol in _PROTOCOLS:
        fsspec.register_implementation(protocol, AtomicLocalFileSystem, clobber=True)


def partial_path(path: str) -> str:
    """A new temporary sibling of ``path`` that names this host and process."""
    return f"{path}{PARTIAL_MARK}{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _writer_is_dead(partial: str) -> bool:
    """True if the partial's name shows a writer process of this host that has ended."""
    writer = partial.rpartition(PARTIAL_MARK)[2].rpartition("-")[0]
    host, _, pid = writer.rpartition("-")
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's live process
        return False
    return False


def is_stale_partial(partial: str, now: float) -> bool:
    """True for a temporary whose writer is gone: dead on this host, or silent too long."""
    if _writer_is_dead(partial):
        return True
    return os.stat(partial).st_mtime < now - STALE_PARTIAL_SECONDS


def _partials_pattern(path: str) -> str:
    """The glob of ``path``'s temporaries, in every version folder if it is versioned."""
    folder, name = os.path.split(path)
    versions = os.path.dirname(folder)
    # Kedro's versioned layout, <filepath>/<version>/<name> with <filepath> ending in
    # <name>: a killed save's temporary sits in another version's folder.
    if os.path.basename(versions) == name:
        return f"{glob.escape(versions)}/*/{glob.escape(name)}{PARTIAL_MARK}*"
    return f"{glob.escape(path)}{PARTIAL_MARK}*"


def remove_stale_partials(path: str) -> None:
    """Delete the temporaries of ``path`` that killed writers left behind.

    A version folder that held nothing else goes with its temporary.
    """
    now = time.time()
    for partial in glob.glob(_partials_pattern(path)):
        with contextlib.suppress(FileNotFoundError):  # another writer removed it first
            if is_stale_partial(partial, now):
                os.remove(partial)
                if os.path.dirname(partial) != os.path.dirname(path):
                    with contextlib.suppress(OSError):  # not empty: leave it
                        os.rmdir(os.path.dirname(partial))


def _is_whole_file_write(mode: str) -> bool:
    return "w" in mode


class AtomicLocalFile(LocalFileOpener):
    """A write to a temporary sibling, renamed over the target by ``close()``.

    Leaving a ``with`` block by an exception, or dropping the file without closing
    it, deletes the temporary instead: the target keeps its previous content.
    """

    def __init__(
        self, path: str, mode: str, fs: LocalFileSystem, **kwargs: Any
    ) -> None:
        remove_stale_partials(path)
        self.temp = partial_path(path)
        super().__init__(path, mode, autocommit=False, fs=fs, **kwargs)

    def _open(self) -> None:
        if self.f is None:
            # "x": the temporary name is new; never truncate someone else's file.
            self.f = open(self.temp, mode=self.mode.replace("w", "x"))  # noqa: SIM115

    def commit(self) -> None:
        """Flush the temporary to disk and rename it over the target."""
        try:
            self.f.flush()
            # Without fsync a power cut could persist the rename before the data.
            os.fsync(self.f.fileno())
            self.f.close()
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close and delete the temporary; the target is left as it was."""
        self.f.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.temp)

    def close(self) -> None:
        """Publish the written file (once)."""
        if not self.f.closed:
            self.commit()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:
        # A write nobody closed was abandoned: it must not replace the target.
        if getattr(self, "f", None) is not None and not self.f.closed:
            self.discard()


class _AtomicTextFile(io.TextIOWrapper):
    """Text over an AtomicLocalFile: an exception in the ``with`` block discards it.

    A plain ``TextIOWrapper`` closes (so publishes) its file however the block ends.
    """

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is not None:
            self.buffer.discard()
        super().__exit__(exc_type, exc_value, traceback)

    def __del__(self) -> None:
        if not self.closed:
            self.buffer.discard()


class AtomicLocalFileSystem(LocalFileSystem):
    """fsspec's local filesystem, with whole-file writes and copies made atomic.

    Appends, compressed writes and writes inside an fsspec transaction keep
    fsspec's own behaviour.
    """

    def open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Open ``path``; a text write gets a wrapper that discards it on error."""
        if (
            _is_whole_file_write(mode)
            and "b" not in mode
            and compression is None
            and not self._intrans
        ):
            text_args = {key: kwargs.pop(key) for key in _TEXT_ARGS if key in kwargs}
            binary = self.open(
                path,
                mode.replace("t", "") + "b",
                block_size=block_size,
                cache_options=cache_options,
                **kwargs,
            )
            return _AtomicTextFile(binary, **text_args)
        return super().open(
            path,
            mode,
            block_size=block_size,
            cache_options=cache_options,
            compression=compression,
            **kwargs,
        )

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        **kwargs: Any,
    ) -> Any:
        if (
            not _is_whole_file_write(mode)
            or not autocommit
            or kwargs.get("compression")
        ):
            return super()._open(
                path, mode, block_size=block_size, autocommit=autocommit, **kwargs
            )
        path = self._strip_protocol(path)
        if self.auto_mkdir:
            self.makedirs(self._parent(path), exist_ok=True)
        kwargs.pop("cache_options", None)
        return AtomicLocalFile(path, mode, fs=self, **kwargs)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy a file through a temporary sibling of ``path2`` (folders as fsspec does)."""
        if not self.isfile(path1):
            super().cp_file(path1, path2, **kwargs)
            return
        with (
            open(self._strip_protocol(path1), "rb") as source,
            self.open(path2, "wb") as target,
        ):
            shutil.copyfileobj(source, target)
