"""AGNewsCSVDataset: the official format, its escapes, checksums and every bad input."""

import functools
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class WebServer:
    """A loopback HTTP server: its folder, base URL, the paths it was asked for."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)
    # File names whose body the server cuts off halfway, then drops the connection.
    truncate: set[str] = field(default_factory=set)


class _Handler(SimpleHTTPRequestHandler):
    """Serves files, records every request, and can drop a connection mid-body."""

    server_state: WebServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server_state.requests.append(self.path)
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.server_state.requests.append(self.path)
        super().do_HEAD()

    def copyfile(self, source, outputfile) -> None:
        if Path(self.path).name not in self.server_state.truncate:
            super().copyfile(source, outputfile)
            return
        body = source.read()
        # Content-Length already promised the whole file: send half, then hang up.
        outputfile.write(body[: len(body) // 2])
        outputfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
        return


@pytest.fixture
def web_server(tmp_path):
    """A real HTTP server on the loopback interface serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    state = WebServer(root=root, url=f"http://127.0.0.1:{server.server_port}")
    handler = type("Handler", (_Handler,), {"server_state": state})
    server.RequestHandlerClass = functools.partial(handler, directory=str(root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _good_md5() -> str:
    return hashlib.md5(GOOD.encode()).hexdigest()


def test_remote_file_is_downloaded_once_then_read_from_the_cache(tmp_path, web_server):
    _write(web_server.root, GOOD)
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv",
        md5=_good_md5(),
        cache_dir=str(tmp_path / "cache"),
    )
    assert len(dataset.load()) == 2
    assert web_server.requests == ["/train.csv"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["train.csv"]
    assert (tmp_path / "cache" / "train.csv").read_text() == GOOD
    # A second load, even by a fresh dataset, reads the verified copy: no request.
    again = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv",
        md5=_good_md5(),
        cache_dir=str(tmp_path / "cache"),
    )
    assert len(again.load()) == 2
    assert web_server.requests == ["/train.csv"]
    (web_server.root / "train.csv").unlink()  # the server no longer has it: the cache serves
    assert dataset.exists()
    assert len(dataset.load()) == 2


def test_remote_file_with_a_wrong_checksum_is_not_cached(tmp_path, web_server):
    _write(web_server.root, GOOD)
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv", md5="0" * 32, cache_dir=str(tmp_path / "cache")
    )
    with pytest.raises(DatasetError, match="does not match the expected 0000"):
        dataset.load()
    assert list((tmp_path / "cache").iterdir()) == []  # no file, no partial
    with pytest.raises(DatasetError, match="does not match the expected 0000"):
        dataset.load()
    assert web_server.requests == ["/train.csv", "/train.csv"]  # nothing was trusted


def test_cached_copy_with_a_wrong_checksum_is_downloaded_again(tmp_path, web_server):
    _write(web_server.root, GOOD)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "train.csv").write_text(GOOD[:10])
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv", md5=_good_md5(), cache_dir=str(cache)
    )
    assert len(dataset.load()) == 2
    assert (cache / "train.csv").read_text() == GOOD
    assert web_server.requests == ["/train.csv"]


def test_missing_remote_file_names_the_url(tmp_path, web_server):
    url = web_server.url
    dataset = AGNewsCSVDataset(filepath=f"{url}/train.csv", cache_dir=str(tmp_path / "c"))
    with pytest.raises(DatasetError, match=f"looked for it at '{url}/train.csv'"):
        dataset.load()
    assert list((tmp_path / "c").iterdir()) == []


def test_absent_server_fails_at_once_with_the_url_and_the_hint(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/train.csv"
    dataset = AGNewsCSVDataset(
        filepath=url,
        md5=_good_md5(),
        cache_dir=str(tmp_path / "cache"),
        missing_hint="Set AGNEWS_DATA_DIR=/folder/with/train.csv+test.csv.",
    )
    started = time.monotonic()
    with pytest.raises(DatasetError) as error:
        dataset.load()
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert f"Could not download AG News file 'train.csv' from '{url}'" in message
    assert "ClientConnectorError" in message  # the cause, as aiohttp names it
    assert message.endswith("Set AGNEWS_DATA_DIR=/folder/with/train.csv+test.csv.")
    assert not any((tmp_path / "cache").glob("*"))
    assert not dataset.exists()


def test_a_server_that_never_answers_times_out(tmp_path):
    # The kernel completes the handshake for a listening socket nobody accepts from:
    # the request goes out and no byte ever comes back.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/train.csv"
        dataset = AGNewsCSVDataset(
            filepath=url, cache_dir=str(tmp_path / "cache"), read_timeout=0.5
        )
        started = time.monotonic()
        with pytest.raises(DatasetError, match=f"from '{url}' \\(.*Timeout"):
            dataset.load()
        assert time.monotonic() - started < 5
    assert not any((tmp_path / "cache").glob("*"))


def test_a_connection_dropped_mid_body_leaves_nothing_and_the_next_load_retries(
    tmp_path, web_server
):
    _write(web_server.root, GOOD * 2000)  # large enough to arrive in several reads
    web_server.truncate.add("train.csv")
    cache = tmp_path / "cache"
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv",
        md5=hashlib.md5((GOOD * 2000).encode()).hexdigest(),
        cache_dir=str(cache),
    )
    with pytest.raises(DatasetError, match="'train.csv' from .*ClientPayloadError"):
        dataset.load()
    assert list(cache.iterdir()) == []  # the partial download was removed
    web_server.truncate.clear()
    requests_before = len(web_server.requests)
    assert len(dataset.load()) == 4000
    assert web_server.requests[requests_before:] == ["/train.csv"]
    assert sorted(p.name for p in cache.iterdir()) == ["train.csv"]


def test_without_a_checksum_a_truncated_body_is_still_refused(tmp_path, web_server):
    # Content-Length tells aiohttp how much to expect; a short body is an error.
    _write(web_server.root, GOOD * 2000)
    web_server.truncate.add("train.csv")
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv", cache_dir=str(tmp_path / "cache")
    )
    with pytest.raises(DatasetError, match="Could not download"):
        dataset.load()
    assert list((tmp_path / "cache").iterdir()) == []


def test_partials_of_killed_downloads_are_cleaned_up(tmp_path, web_server):
    _write(web_server.root, GOOD)
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / "train.csv.partial-deadbeef"
    stale.write_text(GOOD[:5])
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    in_flight = cache / "train.csv.partial-cafecafe"  # maybe another process's download
    in_flight.write_text(GOOD[:5])
    dataset = AGNewsCSVDataset(
        filepath=f"{web_server.url}/train.csv", md5=_good_md5(), cache_dir=str(cache)
    )
    assert len(dataset.load()) == 2
    assert sorted(p.name for p in cache.iterdir()) == ["train.csv", in_flight.name]


def test_remote_file_without_a_cache_folder_is_read_directly(web_server):
    _write(web_server.root, GOOD)
    dataset = AGNewsCSVDataset(filepath=f"{web_server.url}/train.csv", md5=_good_md5())
    assert len(dataset.load()) == 2
    url = f"http://127.0.0.1:{_free_port()}/train.csv"
    with pytest.raises(DatasetError, match=f"from '{url}'.*point the dataset's filepath"):
        AGNewsCSVDataset(filepath=url).load()


def test_save_is_atomic_and_keeps_the_previous_file_on_failure(tmp_path):
    path = _write(tmp_path, GOOD)
    dataset = AGNewsCSVDataset(filepath=path)
    frame = dataset.load()
    broken = frame.drop(columns=["title"])
    with pytest.raises(DatasetError, match="'title'"):
        dataset.save(broken)
    assert Path(path).read_text() == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]
