"""Running the Serve config: locally (``local.run_local``) or on Kubernetes (``rayservice.render_rayservice``)."""

from serving.deploy.config import DEFAULT_CONFIG, deployment_options, load_serve_config
from serving.deploy.rayservice import render_rayservice

__all__ = ["DEFAULT_CONFIG", "deployment_options", "load_serve_config", "render_rayservice"]
