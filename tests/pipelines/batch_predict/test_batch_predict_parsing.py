"""Incoming partitions: CSV and JSON Lines read exactly, bad ones named by line."""

import re

import pytest

from agnews_pipeline.pipelines.batch_predict.parsing import (
    PartitionError,
    parse_partition,
)


def _decoded(raw: bytes) -> str:
    """What the catalog's TextDataset hands the node for these bytes."""
    return raw.decode("utf-8", errors="surrogateescape")


def _rows(frame):
    return list(zip(frame["id"], frame["text"], strict=True))


def _fails(partition: str, content: str, message: str) -> None:
    with pytest.raises(PartitionError, match=f"^{re.escape(message)}$"):
        parse_partition(partition, content)


def test_csv_with_id_and_text():
    frame = parse_partition(
        "a.csv", 'id,text\n1,Stocks rally\n"x 2","Says ""hi"", twice"\n'
    )
    assert _rows(frame) == [("1", "Stocks rally"), ("x 2", 'Says "hi", twice')]
    assert list(frame.columns) == ["id", "text"]
    assert str(frame["id"].dtype) == "string"


def test_csv_title_and_description_are_joined_like_the_training_data():
    # AGNewsCSVDataset: text = title + " " + description, the corpus's escapes kept.
    frame = parse_partition(
        "b.csv",
        "description,id,title,source\n"
        "Shares rose.\\Again.,007,Stocks rally,wire\n"
        ",8,Only a title,wire\n",
    )
    assert _rows(frame) == [
        ("007", "Stocks rally Shares rose.\\Again."),
        ("8", "Only a title "),
    ]


def test_csv_text_wins_over_title_and_description():
    frame = parse_partition("c.csv", "id,title,description,text\n1,T,D,The text\n")
    assert _rows(frame) == [("1", "The text")]


def test_csv_byte_order_mark_crlf_blank_lines_and_multiline_fields():
    content = _decoded(
        '\ufeffid,text\r\n1,first\r\n\r\n2,"two\r\nlines"\r\n3,third\r\n'.encode()
    )
    frame = parse_partition("d.csv", content)
    assert _rows(frame) == [("1", "first"), ("2", "two\r\nlines"), ("3", "third")]


def test_jsonl_ids_and_texts():
    content = (
        '{"id": 10, "text": "Oil prices fall"}\n'
        "\n"
        '{"id": " b7 ", "title": "Vote", "description": "Leaders met", "x": 1}\n'
        '{"id": "c", "text": "line\\u2028separator and \u2028 raw"}\n'
    )
    frame = parse_partition("feed/e.jsonl", content)
    assert _rows(frame) == [
        ("10", "Oil prices fall"),
        ("b7", "Vote Leaders met"),
        ("c", "line\u2028separator and \u2028 raw"),
    ]


@pytest.mark.parametrize(
    ("partition", "content", "message"),
    [
        (
            "notes.txt",
            "id,text\n1,x\n",
            "notes.txt: unsupported file type; expected a name ending in .csv or "
            ".jsonl",
        ),
        (
            "bad.csv",
            _decoded(b"id,text\n1,caf\xc3\xa9\n2,na\xefve\n"),
            "bad.csv, line 3: byte 0xef is not valid UTF-8; expected UTF-8 text",
        ),
        (
            "bad.jsonl",
            _decoded(b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "\xff"}\n'),
            "bad.jsonl, line 2: byte 0xff is not valid UTF-8; expected UTF-8 text",
        ),
        ("empty.csv", "", "empty.csv: no articles; expected at least one row"),
        (
            "header.csv",
            "id,text\n",
            "header.csv: no articles; expected at least one row",
        ),
        ("empty.jsonl", "\n\n", "empty.jsonl: no articles; expected at least one row"),
    ],
)
def test_file_level_errors(partition, content, message):
    _fails(partition, content, message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "id,body\n1,x\n",
            "f.csv, line 1: header has the columns ['id', 'body']; expected 'id' and "
            "either 'text' or 'title' and 'description'",
        ),
        (
            "ID,title,text\n1,x,y\n",
            "f.csv, line 1: header has the columns ['ID', 'title', 'text']; expected "
            "'id' and either 'text' or 'title' and 'description'",
        ),
        ("id,text,text\n1,a,b\n", "f.csv, line 1: header repeats the columns ['text']"),
        (
            "id,text\n1,ok\n2,too,many\n",
            "f.csv, line 3: found 3 fields; expected 2 (id, text)",
        ),
        (
            'id,text\n1,"a\nb"\n2,"unclosed\n',
            "f.csv, line 4: malformed CSV (unexpected end of data); expected "
            'comma-separated fields, quoted with inner quotes doubled ("")',
        ),
        (
            'id,text\n1,"bad" quote\n',
            "f.csv, line 2: malformed CSV (',' expected after '\"'); expected "
            'comma-separated fields, quoted with inner quotes doubled ("")',
        ),
        ("id,text\n  ,x\n", "f.csv, line 2: empty id; expected an id"),
        (
            "id,text\n1,x\n2, \n",
            "f.csv, line 3: 'text' is empty; expected the article's text",
        ),
        (
            "id,title,description\n1,,\n",
            "f.csv, line 2: 'title' and 'description' are both empty; expected the "
            "article's text",
        ),
        (
            "id,text\n1,x\n2,y\n1,z\n",
            "f.csv, line 4: id '1' repeats line 2; expected one row per article",
        ),
    ],
)
def test_malformed_csv_is_named_by_line(content, message):
    _fails("f.csv", content, message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"id": 1, "text": "ok"}\n{"id": 2, "text": "x",}\n',
            "g.jsonl, line 2: invalid JSON (Expecting property name enclosed in "
            "double quotes at column 23); expected one JSON object per line",
        ),
        (
            '{"id": 1, "text": "ok"}\n\n[1, 2]\n',
            "g.jsonl, line 3: found a JSON list; expected one JSON object per line",
        ),
        (
            '{"id": 1, "title": "only a title"}\n',
            "g.jsonl, line 1: object has the keys ['id', 'title']; expected 'id' and "
            "either 'text' or 'title' and 'description'",
        ),
        (
            '{"text": "no id"}\n',
            "g.jsonl, line 1: object has the keys ['text']; expected 'id' and either "
            "'text' or 'title' and 'description'",
        ),
        (
            '{"id": true, "text": "x"}\n',
            "g.jsonl, line 1: 'id' is true; expected a non-empty string or an integer",
        ),
        (
            '{"id": 1.5, "text": "x"}\n',
            "g.jsonl, line 1: 'id' is 1.5; expected a non-empty string or an integer",
        ),
        (
            '{"id": "\\udc80", "text": "x"}\n',
            "g.jsonl, line 1: 'id' is \"\\udc80\", which holds an unpaired surrogate "
            "escape; expected a valid Unicode string",
        ),
        (
            '{"id": 1, "text": null}\n',
            "g.jsonl, line 1: key 'text' is null; expected a string",
        ),
        (
            '{"id": 1, "title": "t", "description": 5}\n',
            "g.jsonl, line 1: key 'description' is 5; expected a string",
        ),
        (
            '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n',
            "g.jsonl, line 2: id 'a' repeats line 1; expected one row per article",
        ),
    ],
)
def test_malformed_jsonl_is_named_by_line(content, message):
    _fails("g.jsonl", content, message)
