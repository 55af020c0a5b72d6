"""Project settings: hooks, configuration loading and atomic file writes."""

from omegaconf.resolvers import oc

from agnews_pipeline.atomic_files import install as install_atomic_file_writes
from agnews_pipeline.hooks import NodeResourceHooks

# Every Kedro entry point (CLI, Airflow task, notebook, ParallelRunner worker)
# imports these settings before it builds a catalog, so every dataset it creates
# writes its files all-or-nothing (agnews_pipeline.atomic_files says why here).
install_atomic_file_writes()

HOOKS = (NodeResourceHooks(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets the `full` environment read the AG News location from AGNEWS_DATA_DIR.
    "custom_resolvers": {"oc.env": oc.env},
}
