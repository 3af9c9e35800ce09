"""Render the Serve config into a KubeRay ``RayService`` manifest (deterministic: sorted keys).

``spec.serveConfigV2`` is the Serve config itself, as a YAML string, so the cluster runs exactly what
``medcode serve`` runs locally. The cluster has a CPU head (no replicas scheduled there) and one GPU
worker group sized from the deployments' GPU requests.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from serving.deploy.config import load_serve_config

RAY_VERSION = "2.60.0"


def serve_config_v2(config: dict[str, Any]) -> str:
    """The Serve config as KubeRay wants it in ``serveConfigV2``."""
    return yaml.safe_dump(config, sort_keys=True, default_flow_style=False)


def _gpus_needed(config: dict[str, Any]) -> tuple[int, int]:
    """GPUs for the minimum and maximum replica counts of every deployment."""
    lo = hi = 0.0
    for app in config["applications"]:
        for dep in app.get("deployments", []):
            g = float((dep.get("ray_actor_options") or {}).get("num_gpus") or 0)
            auto = dep.get("autoscaling_config") or {}
            n = dep.get("num_replicas") if isinstance(dep.get("num_replicas"), int) else None
            lo += g * (n or auto.get("min_replicas", 1))
            hi += g * (n or auto.get("max_replicas", auto.get("min_replicas", 1)))
    return math.ceil(lo), math.ceil(hi)


def render_rayservice(
    config_path: str | Path | None = None,
    image: str = "medcode:latest",
    namespace: str = "medcode",
    name: str = "medcode",
    gpus_per_worker: int = 1,
    worker_cpu: str = "8",
    worker_memory: str = "32Gi",
    head_cpu: str = "2",
    head_memory: str = "8Gi",
    gpu_node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ``ray.io/v1`` RayService manifest for the Serve config.

    Parameters
    ----------
    config_path : path, optional
        The Serve config (default ``serving/serve_config.yaml``).
    image : str
        The medcode image (Ray 2.60 and ``pip install .[gpu]`` inside).
    namespace, name : str
        Kubernetes metadata.
    gpus_per_worker : int
        ``nvidia.com/gpu`` per worker pod; the group's min/max replicas cover the deployments'
        GPU requests at their min/max replica counts.

    Returns
    -------
    dict
        Render it with ``yaml.safe_dump(..., sort_keys=True)`` (``medcode render-rayservice``).
    """
    config = load_serve_config(config_path)
    lo, hi = _gpus_needed(config)
    workers_lo = max(1, math.ceil(lo / gpus_per_worker))
    workers_hi = max(workers_lo, math.ceil(hi / gpus_per_worker))
    env = [
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        {"name": "TRANSFORMERS_OFFLINE", "value": "1"},
        {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
    ]
    head = {
        "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
        "template": {"spec": {"containers": [{
            "name": "ray-head",
            "image": image,
            "env": env,
            "ports": [
                {"containerPort": 6379, "name": "gcs-server"},
                {"containerPort": 8265, "name": "dashboard"},
                {"containerPort": 10001, "name": "client"},
                {"containerPort": 8000, "name": "serve"},
            ],
            "resources": {
                "limits": {"cpu": head_cpu, "memory": head_memory},
                "requests": {"cpu": head_cpu, "memory": head_memory},
            },
        }]}},
    }
    worker_spec: dict[str, Any] = {
        "containers": [{
            "name": "ray-worker",
            "image": image,
            "env": env,
            "resources": {
                "limits": {"cpu": worker_cpu, "memory": worker_memory, "nvidia.com/gpu": str(gpus_per_worker)},
                "requests": {"cpu": worker_cpu, "memory": worker_memory, "nvidia.com/gpu": str(gpus_per_worker)},
            },
        }],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    if gpu_node_selector:
        worker_spec["nodeSelector"] = dict(gpu_node_selector)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": "medcode"}},
        "spec": {
            "serveConfigV2": serve_config_v2(config),
            "rayClusterConfig": {
                "rayVersion": RAY_VERSION,
                "enableInTreeAutoscaling": True,
                "headGroupSpec": head,
                "workerGroupSpecs": [{
                    "groupName": "gpu",
                    "replicas": workers_lo,
                    "minReplicas": workers_lo,
                    "maxReplicas": workers_hi,
                    "rayStartParams": {},
                    "template": {"spec": worker_spec},
                }],
            },
        },
    }


def dump(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)
