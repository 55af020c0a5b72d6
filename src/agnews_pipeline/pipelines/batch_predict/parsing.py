"""New articles from a CSV or JSON Lines partition, checked row by row.

A partition arrives as text decoded with ``errors="surrogateescape"`` (see
``catalog_batch_predict.yml``), so reading it never fails on its bytes; every check
happens here and names the partition, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

SUFFIXES = (".csv", ".jsonl")
_EXPECTED_COLUMNS = "'id' and either 'text' or 'title' and 'description'"
# surrogateescape decodes each byte that is not valid UTF-8 to U+DC80..U+DCFF.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class PartitionError(ValueError):
    """A partition that cannot be scored as it is; the message says where and why."""


def parse_partition(partition: str, content: str) -> pd.DataFrame:
    """Read one partition's articles.

    Args:
        partition: The partition id (its path under the incoming folder), which
            also selects the format by its suffix (``.csv`` or ``.jsonl``).
        content: The file's text, decoded with ``errors="surrogateescape"``.

    Returns:
        One row per article: ``id`` (string) and ``text``, which is the ``text``
        field or, as in the AG News training data, ``title + " " + description``.

    Raises:
        PartitionError: Naming the partition, the line and what was expected.
    """
    if not partition.endswith(SUFFIXES):
        raise PartitionError(
            f"{partition}: unsupported file type; expected a name ending in "
            f"{' or '.join(SUFFIXES)}"
        )
    _check_utf8(partition, content)
    # Spreadsheet programs start UTF-8 CSV with a byte-order mark.
    content = content.removeprefix("\ufeff")
    if partition.endswith(".csv"):
        rows = list(_csv_rows(partition, content))
    else:
        rows = list(_jsonl_rows(partition, content))
    if not rows:
        raise PartitionError(f"{partition}: no articles; expected at least one row")
    seen: dict[str, int] = {}
    for line, article_id, _ in rows:
        if article_id in seen:
            raise PartitionError(
                f"{partition}, line {line}: id {article_id!r} repeats line "
                f"{seen[article_id]}; expected one row per article"
            )
        seen[article_id] = line
    return pd.DataFrame(
        {
            "id": pd.Series([row[1] for row in rows], dtype="string"),
            "text": pd.Series([row[2] for row in rows], dtype="string"),
        }
    )


def _check_utf8(partition: str, content: str) -> None:
    found = _UNDECODABLE.search(content)
    if found:
        line = content.count("\n", 0, found.start()) + 1
        byte = ord(found.group()) - 0xDC00
        raise PartitionError(
            f"{partition}, line {line}: byte 0x{byte:02x} is not valid UTF-8; "
            "expected UTF-8 text"
        )


def _article_text(partition: str, line: int, fields: dict[str, Any], kind: str) -> str:
    """The text a row gives, joined like the training data when it has no ``text``."""
    keys = ("text",) if "text" in fields else ("title", "description")
    for key in keys:
        if not isinstance(fields[key], str):
            raise PartitionError(
                f"{partition}, line {line}: {kind} {key!r} is "
                f"{json.dumps(fields[key])}; expected a string"
            )
    text = " ".join(fields[key] for key in keys)
    if not text.strip():
        raise PartitionError(
            f"{partition}, line {line}: {' and '.join(map(repr, keys))} "
            f"{'is' if len(keys) == 1 else 'are both'} empty; "
            "expected the article's text"
        )
    return text


def _csv_rows(partition: str, content: str) -> Iterator[tuple[int, str, str]]:
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    line = 1
    header: list[str] | None = None
    try:
        for fields in reader:
            if not fields:  # a blank line
                line = reader.line_num + 1
                continue
            if header is None:
                header = _csv_header(partition, line, fields)
            else:
                yield _csv_row(partition, line, header, fields)
            line = reader.line_num + 1
    except csv.Error as error:
        raise PartitionError(
            f"{partition}, line {line}: malformed CSV ({error}); expected "
            'comma-separated fields, quoted with inner quotes doubled ("")'
        ) from None


def _csv_header(partition: str, line: int, fields: list[str]) -> list[str]:
    header = [name.strip() for name in fields]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise PartitionError(
            f"{partition}, line {line}: header repeats the columns {duplicates}"
        )
    has_text = "text" in header or {"title", "description"} <= set(header)
    if "id" not in header or not has_text:
        raise PartitionError(
            f"{partition}, line {line}: header has the columns {header}; expected "
            f"{_EXPECTED_COLUMNS}"
        )
    return header


def _csv_row(
    partition: str, line: int, header: list[str], fields: list[str]
) -> tuple[int, str, str]:
    if len(fields) != len(header):
        raise PartitionError(
            f"{partition}, line {line}: found {len(fields)} fields; expected "
            f"{len(header)} ({', '.join(header)})"
        )
    row = dict(zip(header, fields, strict=True))
    article_id = row["id"].strip()
    if not article_id:
        raise PartitionError(f"{partition}, line {line}: empty id; expected an id")
    return line, article_id, _article_text(partition, line, row, "column")


def _jsonl_rows(partition: str, content: str) -> Iterator[tuple[int, str, str]]:
    # split("\n"), not splitlines(): U+2028 and U+0085 may stand raw inside a
    # JSON string and must not end a line.
    for line, raw in enumerate(content.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise PartitionError(
                f"{partition}, line {line}: invalid JSON ({error.msg} at column "
                f"{error.colno}); expected one JSON object per line"
            ) from None
        if not isinstance(record, dict):
            raise PartitionError(
                f"{partition}, line {line}: found a JSON {type(record).__name__}; "
                "expected one JSON object per line"
            )
        has_text = "text" in record or {"title", "description"} <= record.keys()
        if "id" not in record or not has_text:
            raise PartitionError(
                f"{partition}, line {line}: object has the keys {sorted(record)}; "
                f"expected {_EXPECTED_COLUMNS}"
            )
        yield (
            line,
            _json_id(partition, line, record["id"]),
            _article_text(partition, line, record, "key"),
        )


def _json_id(partition: str, line: int, value: Any) -> str:
    # bool is an int subclass, and True is no article id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        try:
            # A JSON escape such as "\udc80" decodes to a lone surrogate, which no
            # output file could hold.
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PartitionError(
                f"{partition}, line {line}: 'id' is {json.dumps(value)}, which holds "
                "an unpaired surrogate escape; expected a valid Unicode string"
            ) from None
        return value.strip()
    raise PartitionError(
        f"{partition}, line {line}: 'id' is {json.dumps(value)}; expected a "
        "non-empty string or an integer"
    )
