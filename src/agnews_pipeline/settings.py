"""Project settings: hooks and configuration loading."""

from omegaconf.resolvers import oc

from agnews_pipeline.hooks import NodeResourceHooks

HOOKS = (NodeResourceHooks(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets the `full` environment read the AG News location from AGNEWS_DATA_DIR.
    "custom_resolvers": {"oc.env": oc.env},
}
