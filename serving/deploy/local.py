"""``medcode serve``: start Ray on this machine and run the Serve config with ``serve.run``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from serving.deploy.config import application, deployment_options, load_serve_config


def run_local(
    config_path: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    actor_cpus: float | None = 0.0,
    gpus: bool | None = None,
    args_override: dict[str, Any] | None = None,
    blocking: bool = True,
    num_cpus: int | None = None,
) -> dict[str, Any]:
    """Run the medcode application from the Serve config on a local Ray.

    Parameters
    ----------
    config_path : path, optional
        Defaults to ``MEDCODE_SERVE_CONFIG`` or ``serving/serve_config.yaml``.
    host, port : optional
        Override ``http_options`` (default 127.0.0.1:8000).
    actor_cpus : float or None
        ``num_cpus`` of every replica (0 by default: replicas then fit on 2 cores); None keeps the YAML's.
    gpus : bool, optional
        Keep the YAML's GPU requests; by default only when Ray sees a GPU. ``accelerator_type`` is kept
        only when Ray reports that type.
    args_override : dict, optional
        Merged over ``applications[].args`` section by section (tests use it for small limits).
    blocking : bool
        Block until interrupted (``medcode serve``) or return once the app is running (tests).

    Returns
    -------
    dict
        ``{"url", "app", "deployments"}``.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local only: token auth is on by default in 2.60
    # on a busy 2-core host the HTTP proxy can take longer than Ray's 5 s readiness check to import;
    # three misses and Serve kills it, so give it room (the processes Ray starts inherit this)
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "30")
    os.environ.setdefault("RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S", "30")
    import ray
    from ray import serve

    from serving.app import build

    config = load_serve_config(config_path)
    app = application(config)
    http = dict(config.get("http_options") or {})
    http["host"] = host or http.get("host", "127.0.0.1")
    http["port"] = int(port or http.get("port", 8000))
    if not ray.is_initialized():
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    resources = ray.cluster_resources()  # Ray detects GPUs and labels their type (accelerator_type:H100)
    use_gpus = resources.get("GPU", 0) > 0 if gpus is None else gpus
    options = deployment_options(app, gpus=use_gpus, actor_cpus=actor_cpus)
    for opts in options.values():
        actor = opts.get("ray_actor_options", {})
        if "accelerator_type" in actor and f"accelerator_type:{actor['accelerator_type']}" not in resources:
            actor.pop("accelerator_type")  # another GPU model than the cluster's: place on any GPU
    args = dict(app.get("args") or {})
    for section, values in (args_override or {}).items():
        args[section] = {**(args.get(section) or {}), **values}
    if "LLM" not in options:
        # the shipped config has no LLM entry (it is off unless a model is configured): one engine,
        # on a GPU when Ray has one, and within --actor-cpus like the other replicas
        options["LLM"] = {"ray_actor_options": {"num_cpus": 1 if actor_cpus is None else actor_cpus,
                                                "num_gpus": 1 if use_gpus else 0}}
    serve.start(http_options=http)
    serve.run(build(args, options), name=app["name"], route_prefix=app.get("route_prefix", "/"), blocking=False)
    info = {"url": f"http://{http['host']}:{http['port']}", "app": app["name"], "deployments": options}
    if blocking:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            serve.shutdown()
            ray.shutdown()
    return info
