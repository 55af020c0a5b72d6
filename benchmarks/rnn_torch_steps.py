"""Time rnn_torch training steps at full size: what each speed lever buys per epoch.

Usage:
    python benchmarks/rnn_torch_steps.py [--steps 10]

For ``rnn_3layer`` and ``birnn_3layer`` it times training steps (forward, backward,
clipping, Adam) on batches of real article lengths (the bundled subset's train.csv,
``basic_english`` tokens, 50 at most) with random token ids over a vocabulary of the
full data's size, and reports the seconds an epoch of 114,000 rows would take:
``steps per epoch x mean seconds per step`` (validation scoring excluded). Variants:
the default per-tensor Adam or the fused one, batch 64 or the full-size batch that
``batch_rows`` gives, one or two torch threads, and for the bidirectional model a run
on packed sequences (what the project did before) or on rows reversed within their
lengths (what it does now). The project's own setting (full-size batch, fused Adam, one
thread, reversed rows) is also timed with its feature pass under ``torch.compile``.
Writes ``benchmarks/results/rnn_torch_steps.md``; anything below
``HAND_WRITTEN_MARKER`` in an existing file is kept.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import torch
from _harness import hand_written_remarks, machine_description

from agnews_pipeline.datasets import AGNewsCSVDataset
from agnews_pipeline.pipelines.rnn_torch import models
from agnews_pipeline.pipelines.rnn_torch.models import RNNTorchConfig
from agnews_pipeline.pipelines.text_features.tokenizers import tokenize_all
from agnews_pipeline.training import TrainingOptions
from tools.sandbox import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "rnn_torch_steps.md"
SOURCE = PROJECT_ROOT / "data" / "01_raw" / "ag_news_subset" / "train.csv"
FULL_TRAIN_ROWS = 114_000
VOCABULARY = 36_692  # basic_english tokens of the 120,000-row full-size file
MAX_TOKENS = 50
PROJECT_PATH = "reversed within lengths"  # the bidirectional path the project trains on
RECIPE = TrainingOptions(batch_size=64, learning_rate=1e-3, batch_rows=5_700)
APPROACHES = {
    "rnn_3layer": RNNTorchConfig(hidden_sizes=(50,), num_layers=3),
    "birnn_3layer": RNNTorchConfig(hidden_sizes=(50,), num_layers=3, bidirectional=True),
}


def article_lengths() -> np.ndarray:
    """``basic_english`` token counts of the bundled train articles, capped at 50."""
    texts = AGNewsCSVDataset(filepath=str(SOURCE)).load()["text"]
    return np.minimum([len(tokens) for tokens in tokenize_all(texts, "basic_english")], 50)


def packed_features(network, config, token_ids, lengths):  # noqa: ANN001, ANN201
    """The bidirectional readout computed on packed sequences (the earlier code path)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: PLC0415

    outputs = network[models.EMBEDDING](token_ids)
    for rnn in network[models.RNNS]:
        packed = pack_padded_sequence(
            outputs, lengths.clamp(min=1), batch_first=True, enforce_sorted=False
        )
        outputs, _ = pad_packed_sequence(
            rnn(packed)[0], batch_first=True, total_length=token_ids.shape[1]
        )
    forward = outputs[torch.arange(len(lengths)), (lengths - 1).clamp(min=0)]
    hidden = config.hidden_sizes[-1]
    return torch.cat([forward[:, :hidden], outputs[:, 0, hidden:]], dim=-1)


def seconds_per_step(
    config: RNNTorchConfig,
    batch_size: int,
    lengths: np.ndarray,
    *,
    fused: bool,
    features: Callable,
    steps: int,
) -> float:
    """Mean wall seconds of one training step over ``steps`` timed steps (3 warm-up)."""
    torch.manual_seed(0)
    network = models.build_network(config, VOCABULARY)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3, fused=fused)
    rng = np.random.default_rng(0)
    timings = []
    for step in range(steps + 3):
        rows = rng.integers(0, len(lengths), size=batch_size)
        batch_lengths = torch.from_numpy(lengths[rows].astype(np.int64))
        token_ids = torch.from_numpy(rng.integers(1, VOCABULARY, size=(batch_size, MAX_TOKENS)))
        token_ids[torch.arange(MAX_TOKENS) >= batch_lengths[:, None]] = 0
        labels = torch.from_numpy(rng.integers(0, 4, size=batch_size))
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = network[models.CLASSIFIER](features(network, config, token_ids, batch_lengths))
        torch.nn.functional.cross_entropy(logits, labels).backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        if step >= 3:
            timings.append(time.perf_counter() - started)
    return float(np.mean(timings))


def seconds_per_epoch(step_seconds: float, batch_size: int) -> float:
    """Seconds an epoch of ``FULL_TRAIN_ROWS`` takes at ``step_seconds`` a batch."""
    return step_seconds * -(-FULL_TRAIN_ROWS // batch_size)


def time_variant(
    name: str,
    config: RNNTorchConfig,
    features: Callable,
    lengths: np.ndarray,
    *,
    path: str,
    batch_size: int,
    fused: bool,
    threads: int,
    compiled: bool,
    steps: int,
) -> tuple:
    """Time one variant on ``threads`` torch threads; its results-table row, printed."""
    torch.set_num_threads(threads)
    step = seconds_per_step(
        config, batch_size, lengths, fused=fused, features=features, steps=steps
    )
    row = (name, path if config.bidirectional else "", batch_size,
           "fused" if fused else "per-tensor", threads, "yes" if compiled else "no",
           step, seconds_per_epoch(step, batch_size))  # fmt: skip
    print(row, flush=True)  # noqa: T201 - a benchmark prints
    return row


def main() -> None:
    """Time every variant and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant")
    steps = parser.parse_args().steps
    lengths = article_lengths()
    full_batch = RECIPE.for_rows(FULL_TRAIN_ROWS).batch_size
    rows = []
    for name, config in APPROACHES.items():
        paths = {PROJECT_PATH: models.sequence_features}
        if config.bidirectional:
            paths["packed sequences"] = packed_features
        for path, features in paths.items():
            for batch_size in (RECIPE.batch_size, full_batch):
                for fused in (False, True):
                    for threads in (1, 2):
                        rows.append(time_variant(
                            name, config, features, lengths, path=path,
                            batch_size=batch_size, fused=fused, threads=threads,
                            compiled=False, steps=steps,
                        ))  # fmt: skip
        # The project's own setting, compiled. Warm-up steps absorb the compilation;
        # the timed steps run the compiled code.
        compiled = torch.compile(models.sequence_features, dynamic=False)
        rows.append(time_variant(
            name, config, compiled, lengths, path=PROJECT_PATH,
            batch_size=full_batch, fused=True, threads=1, compiled=True, steps=steps,
        ))  # fmt: skip
    lines = [
        "# rnn_torch training steps at full size: what each lever buys",
        "",
        f"- Machine: {machine_description()}; measured "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Batches of real article lengths (mean {lengths.mean():.1f} of {MAX_TOKENS} "
        f"`basic_english` tokens), random ids over {VOCABULARY:,} words; {steps} timed steps "
        f"per variant after 3 warm-up steps; epoch = {FULL_TRAIN_ROWS:,} rows, validation "
        "scoring excluded. The project trains on one thread, fused Adam, the full-size "
        f"batch ({full_batch:,}) and, bidirectional, rows reversed within their lengths.",
        "",
        "| approach | bidirectional path | batch | Adam | threads | torch.compile | s / step "
        "| s / epoch |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| `{a}` | {p} | {b:,} | {o} | {t} | {c} | {s:.4f} | {e:.1f} |"
          for a, p, b, o, t, c, s, e in rows),  # fmt: skip
    ]
    RESULTS.write_text("\n".join(lines) + "\n" + hand_written_remarks(RESULTS), "utf-8")
    print("\n".join(lines))  # noqa: T201 - a benchmark prints its figures


if __name__ == "__main__":
    main()
