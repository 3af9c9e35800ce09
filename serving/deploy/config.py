"""Reading ``serving/serve_config.yaml`` and turning its deployment entries into ``.options()``."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "serve_config.yaml"
# the deployment fields of Ray's schema that Deployment.options() takes under the same name
_OPTION_FIELDS = (
    "num_replicas", "autoscaling_config", "max_ongoing_requests", "max_queued_requests", "user_config",
    "health_check_period_s", "health_check_timeout_s", "graceful_shutdown_wait_loop_s",
    "graceful_shutdown_timeout_s", "ray_actor_options",
)


def config_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("MEDCODE_SERVE_CONFIG") or DEFAULT_CONFIG)


def load_serve_config(path: str | Path | None = None) -> dict[str, Any]:
    """The Serve config as a dict (``MEDCODE_SERVE_CONFIG`` or the shipped file)."""
    data = yaml.safe_load(config_path(path).read_text())
    if not isinstance(data, dict) or not data.get("applications"):
        raise ValueError(f"{config_path(path)}: not a Serve config (no applications)")
    return data


def application(config: dict[str, Any], name: str = "medcode") -> dict[str, Any]:
    for app in config["applications"]:
        if app.get("name") == name:
            return app
    raise KeyError(f"no application {name!r} in the Serve config")


def deployment_options(
    app: dict[str, Any], gpus: bool = True, actor_cpus: float | None = None
) -> dict[str, dict[str, Any]]:
    """``{deployment name: Deployment.options() kwargs}`` from an application entry.

    Parameters
    ----------
    gpus : bool
        False drops ``num_gpus`` and ``accelerator_type`` (a host without GPUs cannot place them).
    actor_cpus : float, optional
        Overrides ``num_cpus`` of every replica (0 lets every replica fit on a 2-core machine).
    """
    out: dict[str, dict[str, Any]] = {}
    for dep in app.get("deployments", []):
        opts = {k: copy.deepcopy(v) for k, v in dep.items() if k in _OPTION_FIELDS}
        actor = opts.setdefault("ray_actor_options", {})
        if not gpus:
            actor.pop("num_gpus", None)
            actor.pop("accelerator_type", None)
        if actor_cpus is not None:
            actor["num_cpus"] = actor_cpus
        out[dep["name"]] = opts
    return out
