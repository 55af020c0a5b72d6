"""Project settings: hooks, configuration loading and atomic file writes."""

from omegaconf.resolvers import oc

from agnews_pipeline.approaches import SessionConfigHooks
from agnews_pipeline.atomic_files import install as install_atomic_file_writes
from agnews_pipeline.hooks import NodeResourceHooks
from agnews_pipeline.provenance import KeyedDataCatalog, ProvenanceHooks

# Every Kedro entry point (CLI, Airflow task, notebook, ParallelRunner worker)
# imports these settings before it builds a catalog, so every dataset it creates
# writes its files all-or-nothing (agnews_pipeline.atomic_files says why here).
install_atomic_file_writes()

HOOKS = (SessionConfigHooks(), NodeResourceHooks(), ProvenanceHooks())

# Reports an artifact made from other parameters or inputs as missing, so
# `kedro run --only-missing-outputs` recomputes it (agnews_pipeline.provenance).
DATA_CATALOG_CLASS = KeyedDataCatalog

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets the `full` environment read the AG News location from AGNEWS_DATA_DIR.
    "custom_resolvers": {"oc.env": oc.env},
}
