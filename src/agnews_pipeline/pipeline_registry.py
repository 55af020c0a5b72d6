"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from agnews_pipeline.approaches import FAMILIES, configured_approaches, every_approach
from agnews_pipeline.pipelines import (
    batch_predict,
    conv1d_flax,
    ensemble,
    glove,
    glove_gluonnlp,
    glove_haiku,
    ingestion,
    lstm_mxnet,
    reporting,
    rnn_torch,
    text_features,
)
from agnews_pipeline.pipelines.reporting.pipeline import (
    create_baselines_pipeline,
    create_results_pipeline,
)

# Listed explicitly rather than through find_pipelines(): since Kedro 1.7, `kedro run
# --pipeline=X` makes find_pipelines() import only package X, and a family could then
# not pull in the shared stages it depends on.
STAGES = {
    "ingestion": ingestion,
    "text_features": text_features,
    "glove": glove,
    "glove_haiku": glove_haiku,
    "conv1d_flax": conv1d_flax,
    "rnn_torch": rnn_torch,
    "lstm_mxnet": lstm_mxnet,
    "glove_gluonnlp": glove_gluonnlp,
    "reporting": reporting,
    "ensemble": ensemble,
}


def register_pipelines() -> dict[str, Pipeline]:
    """Register every stage and family pipeline, each runnable alone from raw data.

    Every stage is built from the approach blocks in the parameters (read once, here:
    ``agnews_pipeline.approaches``), so a new approach is one YAML block. ``kedro run
    --pipeline=<name>`` runs that pipeline's nodes plus exactly the upstream nodes they
    need (for a family: ingestion, its text features and GloVe matrix,
    nothing of other families). ``reporting`` runs the baselines (with the ingestion
    they need) and builds the results table from whatever metrics the catalog holds,
    without training anything; ``ensemble`` alone fits and scores the ensemble of
    whatever approaches the catalog holds (``reporting`` refits it too, after the
    baselines, so that the table's ensemble row is current). ``__default__`` is
    every stage, ending with the ensemble and the report. ``evaluation`` and
    ``explanation`` are templates that live inside each family and are not registered
    on their own. ``batch_predict`` scores new articles
    with an already trained model and is not part of ``__default__``.
    ``retrain_<family>`` is a family, then the results table (the nightly retraining
    DAG).

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    # The configuration is read once here; every stage is built from the same blocks.
    approaches = configured_approaches()
    shared = {"approaches": every_approach(approaches)}
    stage_arguments = {
        **{
            stage: shared
            for stage in ("text_features", "glove", "reporting", "ensemble")
        },
        **{family: {"approaches": approaches[family].values()} for family in FAMILIES},
    }
    found = {
        name: module.create_pipeline(**stage_arguments.get(name, {}))
        for name, module in STAGES.items()
    }
    everything = sum(found.values(), Pipeline([]))
    pipelines = {
        name: everything.to_nodes(*(node.name for node in pipeline.nodes))
        for name, pipeline in found.items()
    }
    # The results and ensemble nodes read every family's outputs; pulling their
    # producers in would make the report retrain everything.
    pipelines["ensemble"] = found["ensemble"]
    results = create_results_pipeline(shared["approaches"])
    pipelines["reporting"] = (
        everything.to_nodes(*(node.name for node in create_baselines_pipeline().nodes))
        + found["ensemble"]
        + results
    )
    pipelines["__default__"] = everything
    # Scores new articles with a model trained earlier: its own nodes only (to_nodes
    # would pull training in) and not part of __default__; a scheduler runs it.
    pipelines["batch_predict"] = batch_predict.create_pipeline()
    # The nightly retraining DAGs (airflow_dags/, conf/airflow/airflow.yml): a family,
    # then the results table that batch_predict picks its serving model from.
    for family in FAMILIES:
        pipelines[f"retrain_{family}"] = pipelines[family] + results
    return pipelines
