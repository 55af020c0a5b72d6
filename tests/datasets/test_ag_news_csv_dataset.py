"""AGNewsCSVDataset: the official format, its escapes, checksums and every bad input."""

import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from kedro.io import DatasetError

from agnews_pipeline.datasets import AGNewsCSVDataset

OFFICIAL_TEST = Path(__file__).parents[3] / "shared" / "data" / "ag_news" / "test.csv"
OFFICIAL_TEST_MD5 = "d52ea96a97a2d943681189a97654912d"

GOOD = (
    '"3","Fears for T N pension","Unions say they are ""disappointed"" at\\Mogul."\n'
    '"2","Title only",""\n'
)


def _write(tmp_path, content: bytes | str, name="train.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_parses_doubled_quotes_and_keeps_the_corpus_escapes(tmp_path):
    frame = AGNewsCSVDataset(filepath=_write(tmp_path, GOOD)).load()
    assert frame["label"].tolist() == [2, 1]
    assert frame["description"][0] == 'Unions say they are "disappointed" at\\Mogul.'
    assert frame["text"][0] == (
        'Fears for T N pension Unions say they are "disappointed" at\\Mogul.'
    )
    assert frame["text"][1] == "Title only "
    assert str(frame["label"].dtype) == "int8"


@pytest.mark.skipif(not OFFICIAL_TEST.exists(), reason="official test.csv not on this machine")
def test_official_test_split_round_trips_byte_for_byte(tmp_path):
    frame = AGNewsCSVDataset(filepath=str(OFFICIAL_TEST), md5=OFFICIAL_TEST_MD5).load()
    assert len(frame) == 7600
    assert frame["label"].value_counts().to_dict() == {0: 1900, 1: 1900, 2: 1900, 3: 1900}
    copy = tmp_path / "copy.csv"
    AGNewsCSVDataset(filepath=str(copy)).save(frame)
    assert hashlib.md5(copy.read_bytes()).hexdigest() == OFFICIAL_TEST_MD5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD + '"1","only two fields"\n', r"train.csv, line 3: found 2 fields; expected 3"),
        (GOOD + '"1","a","b","c"\n', r"line 3: found 4 fields; expected 3"),
        (GOOD + '"5","Title","Text"\n', r"line 3: class index '5' is outside 1-4"),
        ('"0","Title","Text"\n', r"line 1: class index '0' is outside 1-4"),
        ('"World","Title","Text"\n', r"line 1: class index 'World' is outside 1-4"),
        (GOOD + '"1","  ",""\n', r"line 3: title and description are both empty"),
        (GOOD + '"1","unterminated,"x"\n', r"line 3: malformed CSV"),
        ("", r"train.csv: no rows"),
    ],
)
def test_bad_rows_name_the_file_the_line_and_the_expectation(tmp_path, content, message):
    with pytest.raises(DatasetError, match=message):
        AGNewsCSVDataset(filepath=_write(tmp_path, content)).load()


def test_line_numbers_count_physical_lines_of_multiline_fields(tmp_path):
    content = '"1","Two\nlines","x"\n"9","bad","row"\n'
    with pytest.raises(DatasetError, match=r"line 3: class index '9'"):
        AGNewsCSVDataset(filepath=_write(tmp_path, content)).load()


def test_non_utf8_byte_is_reported_with_its_line(tmp_path):
    content = GOOD.encode() + b'"1","Caf\xe9","latin-1 text"\n'
    with pytest.raises(DatasetError, match=r"line 3: byte 0xe9 is not valid UTF-8"):
        AGNewsCSVDataset(filepath=_write(tmp_path, content)).load()


def test_missing_file_says_where_it_looked_and_how_to_fix_it(tmp_path):
    dataset = AGNewsCSVDataset(
        filepath=str(tmp_path / "nowhere" / "train.csv"),
        missing_hint="Set AGNEWS_DATA_DIR.",
    )
    assert not dataset.exists()
    with pytest.raises(DatasetError) as error:
        dataset.load()
    message = str(error.value)
    assert "'train.csv' not found" in message
    assert str(tmp_path / "nowhere" / "train.csv") in message
    assert message.endswith("Set AGNEWS_DATA_DIR.")


def test_checksum_mismatch_stops_the_load(tmp_path):
    path = _write(tmp_path, GOOD)
    good_md5 = hashlib.md5(GOOD.encode()).hexdigest()
    assert len(AGNewsCSVDataset(filepath=path, md5=good_md5).load()) == 2
    with pytest.raises(DatasetError, match=f"MD5 checksum {good_md5} does not match"):
        AGNewsCSVDataset(filepath=path, md5="0" * 32).load()


@pytest.fixture
def web_server(tmp_path):
    """A real HTTP server on the loopback interface serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_remote_file_is_downloaded_once_then_read_from_the_cache(tmp_path, web_server):
    root, url = web_server
    _write(root, GOOD)
    dataset = AGNewsCSVDataset(
        filepath=f"{url}/train.csv",
        md5=hashlib.md5(GOOD.encode()).hexdigest(),
        cache_dir=str(tmp_path / "cache"),
    )
    assert len(dataset.load()) == 2
    assert (tmp_path / "cache" / "train.csv").read_text() == GOOD
    (root / "train.csv").unlink()  # the server no longer has it: the cache serves
    assert dataset.exists()
    assert len(dataset.load()) == 2


def test_remote_file_with_a_wrong_checksum_is_not_cached(tmp_path, web_server):
    root, url = web_server
    _write(root, GOOD)
    dataset = AGNewsCSVDataset(
        filepath=f"{url}/train.csv", md5="0" * 32, cache_dir=str(tmp_path / "cache")
    )
    with pytest.raises(DatasetError, match="does not match the expected 0000"):
        dataset.load()
    assert not (tmp_path / "cache" / "train.csv").exists()


def test_missing_remote_file_names_the_url(tmp_path, web_server):
    _, url = web_server
    dataset = AGNewsCSVDataset(filepath=f"{url}/train.csv", cache_dir=str(tmp_path / "c"))
    with pytest.raises(DatasetError, match=f"looked for it at '{url}/train.csv'"):
        dataset.load()


def test_save_is_atomic_and_keeps_the_previous_file_on_failure(tmp_path):
    path = _write(tmp_path, GOOD)
    dataset = AGNewsCSVDataset(filepath=path)
    frame = dataset.load()
    broken = frame.drop(columns=["title"])
    with pytest.raises(DatasetError, match="'title'"):
        dataset.save(broken)
    assert Path(path).read_text() == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]
