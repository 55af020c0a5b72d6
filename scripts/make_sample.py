"""Draw the bundled stratified AG News sample from the official release files.

Usage: python scripts/make_sample.py [--source ../shared/data/ag_news] [--seed 42]

With both official splits present, the sample's train comes from train.csv and its test
from test.csv. With test.csv alone (as on machines without the 120,000-row train file),
both come from test.csv: 1,500 articles a class for the sample's train and the other
400 a class for its test, so the two never share an article.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path

import pandas as pd

from agnews_pipeline.classifier import CLASS_NAMES
from agnews_pipeline.datasets import AGNewsCSVDataset

logger = logging.getLogger("make_sample")

OUTPUT_DIR = Path("data/01_raw/ag_news_sample")
TRAIN_PER_CLASS = 1500
TEST_PER_CLASS = 400


def _draw(frame: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """Take ``per_class`` rows of every class, seeded, keeping the file order."""
    picked = frame.groupby("label", group_keys=False).sample(n=per_class, random_state=seed)
    return picked.sort_index()


def main() -> None:
    """Write data/01_raw/ag_news_sample/{train,test}.csv and their README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="../shared/data/ag_news", type=Path)
    parser.add_argument("--seed", default=42, type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    test = AGNewsCSVDataset(filepath=str(args.source / "test.csv")).load()
    train_file = args.source / "train.csv"
    if train_file.exists():
        train = _draw(AGNewsCSVDataset(filepath=str(train_file)).load(), TRAIN_PER_CLASS, args.seed)
        sample_test = _draw(test, TEST_PER_CLASS, args.seed)
        origin = "train.csv (sample train) and test.csv (sample test)"
    else:
        train = _draw(test, TRAIN_PER_CLASS, args.seed)
        sample_test = test.drop(index=train.index)
        origin = (
            "test.csv alone (train.csv is absent): 1,500 articles a class for the "
            "sample's train, the other 400 a class for its test"
        )
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, frame in (("train.csv", train), ("test.csv", sample_test)):
        path = OUTPUT_DIR / name
        AGNewsCSVDataset(filepath=str(path)).save(frame)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        counts = frame["label"].value_counts().sort_index()
        per_class = ", ".join(f"{CLASS_NAMES[k]} {v}" for k, v in counts.items())
        lines.append(f"- `{name}`: {len(frame):,} rows ({per_class}), SHA-256 {digest}")
        logger.info("wrote %s: %d rows", path, len(frame))
    (OUTPUT_DIR / "README.md").write_text(
        "# Bundled AG News sample\n\n"
        "A small stratified sample of the official AG News release (Zhang, Zhao & LeCun "
        "2015), in the release's own CSV format, so that `kedro run` works anywhere "
        "without a download. Made by `python scripts/make_sample.py "
        f"--seed {args.seed}` from {origin}.\n\n" + "\n".join(lines) + "\n\n"
        "The corpus is provided by its authors for research and other non-commercial "
        "use (see the release's readme.txt).\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
