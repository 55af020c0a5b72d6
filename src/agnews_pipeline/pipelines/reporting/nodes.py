"""Nodes of the ``reporting`` pipeline: every approach side by side."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agnews_pipeline.approaches import approach_key, split_key
from agnews_pipeline.classifier import CLASS_NAMES

__all__ = ["approach_key"]  # the reporting pipeline names its inputs with it

logger = logging.getLogger(__name__)

RESULTS_COLUMNS = (
    "family",
    "approach",
    "status",
    "framework",
    "tokenizer",
    "max_tokens",
    "embedding",
    "embedding_dimension",
    "embedding_coverage",
    "embedding_init",
    "recipe",
    "parameters",
    "trainable_parameters",
    "epochs",
    "best_validation_accuracy",
    "validation_accuracy",
    "test_accuracy",
    "test_accuracy_low",
    "test_accuracy_high",
    "reference_accuracy",
    "difference",
    "train_seconds",
    "seconds_per_epoch",
    "peak_memory_mib",
    "model_version",
    "note",
)

BASELINES = "baselines"
_TRAINED = "trained"


def _split_key(key: str) -> tuple[str, str]:
    return split_key(key, "results")


def _embedding_label(embedding: dict[str, Any]) -> str:
    if embedding.get("glove"):
        label = f"frozen {embedding['glove']}"
        requested = embedding.get("requested_glove")
        if embedding.get("fallback") and requested and requested != embedding["glove"]:
            label += f" (fallback for {requested})"
        return label
    if "features" in embedding:
        return f"{embedding['features']} sparse features"
    if embedding.get("pretrained"):
        return f"fine-tuned {embedding['pretrained']}"
    return "trainable"


def accuracy_interval(accuracy: float, examples: int) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) 95 % interval of an accuracy.

    Args:
        accuracy: Share of correct predictions.
        examples: How many predictions it is the share of.

    Returns:
        ``(low, high)``, each in [0, 1].
    """
    from scipy.stats import binomtest  # noqa: PLC0415

    correct = round(accuracy * examples)
    interval = binomtest(correct, examples).proportion_ci(
        confidence_level=0.95, method="exact"
    )
    return float(interval.low), float(interval.high)


def _embedding_init(metrics: dict[str, Any], recipe: dict[str, Any]) -> str | None:
    # Frozen GloVe approaches say so in the embedding column; this column tells how a
    # trainable embedding started (random, or from GloVe).
    embedding = metrics.get("embedding") or {}
    if not embedding.get("trainable") or metrics.get("backend") in {"ensemble"}:
        return None
    return recipe.get("embedding_init")


def _peak_memory(node_resources: dict[str, Any] | None, family: str, approach: str) -> float | None:
    records = (node_resources or {}).get("nodes", {})
    prefix = f"{family}.{approach}."
    peaks = [
        record["peak_memory_mib"]
        for name, record in records.items()
        if name.startswith(prefix) and record.get("peak_memory_mib") is not None
    ]
    return max(peaks) if peaks else None


def _row(
    family: str,
    approach: str,
    *,
    framework: str,
    metrics: dict[str, Any] | None,
    reference: dict[str, Any] | None,
    node_resources: dict[str, Any] | None,
) -> dict[str, Any]:
    reference_accuracy = (reference or {}).get("test_accuracy")
    row: dict[str, Any] = dict.fromkeys(RESULTS_COLUMNS)
    row.update(
        family=family,
        approach=approach,
        framework=framework,
        reference_accuracy=reference_accuracy,
    )
    if metrics is None:
        return {**row, "status": "missing", "note": "not trained yet"}
    if metrics.get("status") == "unavailable":
        return {**row, "status": "unavailable", "note": metrics.get("reason")}
    embedding = metrics.get("embedding") or {}
    model = metrics.get("model") or {}
    test_accuracy = metrics["test_accuracy"]
    recipe = (metrics.get("history") or {}).get("recipe") or {}
    low, high = (
        accuracy_interval(test_accuracy, int(metrics["test_examples"]))
        if metrics.get("test_examples")
        else (None, None)
    )
    notes = []
    if embedding.get("fallback"):
        notes.append(f"GloVe fallback: {embedding.get('glove')} instead of "
                     f"{embedding.get('requested_glove')}")
    if metrics.get("weights"):  # the ensemble: which members, how much each
        notes.append("weights: " + ", ".join(
            f"{name} {weight:.2f}" for name, weight in metrics["weights"].items()))  # fmt: skip
    return {
        **row,
        "status": _TRAINED,
        "tokenizer": metrics.get("tokenizer"),
        "max_tokens": metrics.get("max_tokens"),
        "embedding": _embedding_label(embedding) if embedding else None,
        "embedding_dimension": embedding.get("dimension"),
        "embedding_coverage": embedding.get("token_coverage"),
        "embedding_init": _embedding_init(metrics, recipe),
        "recipe": recipe.get("recipe"),
        "parameters": model.get("parameters"),
        "trainable_parameters": model.get("trainable_parameters"),
        "epochs": metrics.get("epochs"),
        "best_validation_accuracy": metrics.get("best_validation_accuracy"),
        "validation_accuracy": metrics.get("validation_accuracy"),
        "test_accuracy": test_accuracy,
        "test_accuracy_low": low,
        "test_accuracy_high": high,
        "difference": (
            None if reference_accuracy is None else test_accuracy - float(reference_accuracy)
        ),
        "train_seconds": metrics.get("train_seconds"),
        "seconds_per_epoch": metrics.get("seconds_per_epoch"),
        "peak_memory_mib": _peak_memory(node_resources, family, approach),
        "model_version": metrics.get("saved_version"),
        "note": "; ".join(notes) or None,
    }


def build_results_table(
    frameworks: dict[str, str],
    parameters: dict[str, Any],
    node_resources: dict[str, Any] | None,
    **approach_metrics: dict[str, Any] | None,
) -> pd.DataFrame:
    """One row per approach: what it is, how it trained and how it scored.

    Args:
        frameworks: Framework label per family, e.g. ``{"glove_haiku": "JAX + Haiku"}``,
            or per approach of a family (``{"baselines": {"fasttext": "fastText"}}``).
        parameters: All the project's parameters; an approach's reference accuracy
            is ``parameters[family][approach]["reference"]["test_accuracy"]``, read
            from there so that untrained approaches show theirs too.
        node_resources: The hook's records (``{"nodes": {name: {...}}}``); an
            approach's peak memory is the largest of its nodes'.
        **approach_metrics: ``<family>__<approach>`` to that approach's metrics, or
            ``None`` when it has not been trained.

    Returns:
        A table with ``RESULTS_COLUMNS``, in the order the approaches were given;
        untrained approaches have status ``missing``.
    """
    rows = []
    for key, metrics in approach_metrics.items():
        family, approach = _split_key(key)
        framework = frameworks.get(family)
        if isinstance(framework, dict):  # one per approach, as for the baselines
            framework = framework.get(approach)
        if framework is None:
            raise ValueError(f"no framework configured for {family}.{approach}")
        reference = ((parameters.get(family) or {}).get(approach) or {}).get("reference")
        rows.append(
            _row(
                family,
                approach,
                framework=framework,
                metrics=metrics,
                reference=reference,
                node_resources=node_resources,
            )
        )
    table = pd.DataFrame(rows, columns=list(RESULTS_COLUMNS))
    missing = table.loc[table["status"] == "missing", ["family", "approach"]]
    if len(missing):
        logger.warning(
            "Results table: %d approaches not trained yet: %s",
            len(missing),
            ", ".join(f"{f}.{a}" for f, a in missing.itertuples(index=False)),
        )
    return table


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _percent(value: Any) -> str:
    return "" if _blank(value) else f"{100 * float(value):.1f}"


def _number(value: Any, digits: int = 0) -> str:
    return "" if _blank(value) else f"{float(value):,.{digits}f}"


def _text(value: Any) -> str:
    return "" if _blank(value) else str(value).replace("|", "\\|")


def _test_cell(row: dict[str, Any]) -> str:
    """``88.1 % (87.4–88.8)``: test accuracy with its exact 95 % interval."""
    if _blank(row["test_accuracy"]):
        return ""
    cell = f"{_percent(row['test_accuracy'])} %"
    if not _blank(row.get("test_accuracy_low")) and not _blank(row.get("test_accuracy_high")):
        cell += f" ({_percent(row['test_accuracy_low'])}–{_percent(row['test_accuracy_high'])})"
    return cell


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_results_markdown(
    results_table: pd.DataFrame, node_resources: dict[str, Any] | None
) -> str:
    """Render the results table, the untrained approaches and the run's node resources.

    Args:
        results_table: Output of :func:`build_results_table`.
        node_resources: The hook's records, listed slowest node first.

    Returns:
        A Markdown document.
    """
    records = results_table.astype(object).where(results_table.notna(), None)
    header = [
        "family", "approach", "framework", "recipe", "tokenizer / tokens", "embedding",
        "params (trainable)", "epochs", "best val %", "test % (95 % CI)", "reference %",
        "diff (pts)", "train s", "s / epoch", "peak MiB", "note",
    ]  # fmt: skip
    rows = []
    for row in records.to_dict("records"):
        tokens = f"{_text(row['tokenizer'])} / {_number(row['max_tokens'])}".strip(" /")
        parameters = _number(row["parameters"])
        if row["trainable_parameters"] not in (None, row["parameters"]):
            parameters += f" ({_number(row['trainable_parameters'])})"
        embedding = _text(row["embedding"])
        if row["embedding_dimension"] is not None:
            embedding += f", {_number(row['embedding_dimension'])}-d"
        if row["embedding_coverage"] is not None:
            embedding += f", {_percent(row['embedding_coverage'])} % tokens covered"
        if row["embedding_init"] is not None:
            embedding += f", {_text(row['embedding_init'])} init"
        rows.append([
            _text(row["family"]), _text(row["approach"]), _text(row["framework"]),
            _text(row["recipe"]), tokens, embedding, parameters, _number(row["epochs"]),
            _percent(row["best_validation_accuracy"]), _test_cell(row),
            _percent(row["reference_accuracy"]),
            "" if row["difference"] is None else f"{100 * row['difference']:+.1f}",
            _number(row["train_seconds"], 1), _number(row["seconds_per_epoch"], 2),
            _number(row["peak_memory_mib"]),
            row["status"] if row["status"] != _TRAINED else _text(row["note"]),
        ])  # fmt: skip
    trained = records[records["status"] == _TRAINED]
    lines = [
        "# AG News: every approach side by side",
        "",
        f"{len(trained)} of {len(records)} approaches have results. Accuracies are on "
        "the test split of the data this run used, with their exact (Clopper–Pearson) "
        "95 % interval; reference accuracies are the tutorials' (full data). The "
        "ensemble's weights are fitted on the validation split, so its validation "
        "accuracy is optimistic; its test accuracy is not.",
        "",
        *_markdown_table(header, rows),
    ]
    not_trained = records[records["status"] != _TRAINED]
    if len(not_trained):
        lines += ["", "## Without results", ""]
        lines += [
            f"- {row['family']}.{row['approach']}: {row['status']} ({_text(row['note'])})"
            for row in not_trained.to_dict("records")
        ]
    nodes = sorted(
        ((node_resources or {}).get("nodes") or {}).items(),
        key=lambda item: -item[1].get("seconds", 0.0),
    )
    if nodes:
        lines += [
            "",
            "## Node resources",
            "",
            "Wall time and peak resident memory of each node, latest run of each "
            "(recorded by NodeResourceHooks).",
            "",
            *_markdown_table(
                ["node", "seconds", "peak MiB", "run"],
                [
                    [
                        name,
                        _number(record.get("seconds"), 2),
                        _number(record.get("peak_memory_mib")),
                        _text(record.get("run_id")),
                    ]
                    for name, record in nodes
                ],
            ),
        ]
    return "\n".join(lines) + "\n"


def plot_accuracy_chart(results_table: pd.DataFrame) -> Figure:
    """Bar chart of test (with its 95 % interval) against reference accuracy, by family.

    Args:
        results_table: Output of :func:`build_results_table`.

    Returns:
        A figure (not registered with pyplot) for ``matplotlib.MatplotlibDataset``.
    """
    table = results_table.reset_index(drop=True)
    positions: list[float] = []
    family_spans: list[tuple[str, float, float]] = []
    position = 0.0
    for family, group in table.groupby("family", sort=False):
        start = position
        for _ in range(len(group)):
            positions.append(position)
            position += 1.0
        family_spans.append((str(family), start, position - 1.0))
        position += 0.8  # a gap between families
    x = np.asarray(positions)
    test = table["test_accuracy"].astype(float).to_numpy() * 100
    reference = table["reference_accuracy"].astype(float).to_numpy() * 100

    figure = Figure(figsize=(max(8.0, 0.45 * len(table) + 2), 5.6), layout="constrained")
    axes = figure.add_subplot()
    width = 0.4
    low = table["test_accuracy_low"].astype(float).to_numpy() * 100
    high = table["test_accuracy_high"].astype(float).to_numpy() * 100
    # The exact 95 % interval as an error bar: differences inside it are noise.
    errors = np.nan_to_num(np.vstack([test - low, high - test]))
    axes.bar(x - width / 2, np.nan_to_num(test), width, yerr=errors, capsize=2,
             label="test accuracy (this run, 95 % CI)", color="#1f77b4")  # fmt: skip
    axes.bar(x + width / 2, np.nan_to_num(reference), width,
             label="reference (tutorial, full data)", color="#bbbbbb")  # fmt: skip
    for index, status in enumerate(table["status"]):
        if status != _TRAINED:
            axes.text(x[index] - width / 2, 1.0, status, rotation=90, ha="center",
                      va="bottom", fontsize=8, color="#d62728")  # fmt: skip
    axes.set_xticks(x, labels=table["approach"], rotation=60, ha="right")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    for family, start, end in family_spans:
        axes.text((start + end) / 2, 101, family, ha="center", va="bottom", fontsize=9)
    figure.legend(loc="outside lower center", ncols=2)
    axes.set_title("Test accuracy against the tutorials' reference, by family", pad=18)
    return figure


def plot_confusion_grid(**approach_metrics: dict[str, Any] | None) -> Figure:
    """All normalised confusion matrices in one grid, one panel per trained approach.

    Args:
        **approach_metrics: ``<family>__<approach>`` to metrics or ``None``.

    Returns:
        A figure; approaches without results are left out and named in the title.
    """
    trained = {
        key: metrics
        for key, metrics in approach_metrics.items()
        if metrics is not None and "confusion_matrix" in metrics
    }
    columns = min(5, max(1, len(trained)))
    rows = max(1, math.ceil(len(trained) / columns))
    figure = Figure(figsize=(3.2 * columns, 3.1 * rows + 0.6), layout="constrained")
    short = [name.split("/")[0][:5] for name in CLASS_NAMES]
    for index, (key, metrics) in enumerate(trained.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        shares = np.asarray(metrics["confusion_matrix"]["normalized"], dtype=float)
        axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        for row in range(shares.shape[0]):
            for column in range(shares.shape[1]):
                axes.text(column, row, f"{shares[row, column]:.2f}", ha="center",
                          va="center", fontsize=7,
                          color="white" if shares[row, column] > 0.5 else "black")  # fmt: skip
        family, approach = _split_key(key)
        axes.set_title(f"{family}\n{approach}: {100 * metrics['test_accuracy']:.1f} %",
                       fontsize=8)  # fmt: skip
        axes.set_xticks(range(len(short)), labels=short, fontsize=7)
        axes.set_yticks(range(len(short)), labels=short, fontsize=7)
    missing = len(approach_metrics) - len(trained)
    figure.suptitle(
        "Normalised confusion matrices (rows: true class)"
        + (f"; {missing} approaches without results" if missing else "")
    )
    return figure
