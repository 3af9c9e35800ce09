"""``medcode serve``, ``medcode keys create|list|revoke`` and ``medcode render-rayservice``.

Register in ``medcode/cli.py``::

    from medcode import serve_commands as _serve_commands
    app.add_typer(_serve_commands.keys_app, name="keys")
    app.command("serve")(_serve_commands.serve)
    app.command("render-rayservice")(_serve_commands.render_rayservice)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help="API keys of the partner coding API (stored hashed in DynamoDB).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="the tenant the key acts for")],
    role: Annotated[str, typer.Option("--role", help="coder|reviewer|admin|partner")] = "partner",
    label: Annotated[str, typer.Option("--label", help="a note for operators (no PHI)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Create a key and print it once; only its salted hash is stored."""
    from medcore.access import Role
    from serving.api.keys import KeyStore

    try:
        role_v = Role(role)
    except ValueError:
        typer.echo(f"--role must be one of {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from None
    try:
        key, info = KeyStore().create(tenant, role_v, label)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps({"key": key, "key_id": info.key_id, "tenant_id": info.tenant_id,
                                     "role": info.role.value}) + "\n")
        return
    typer.echo(key)
    typer.echo(f"key id {info.key_id}, tenant {info.tenant_id}, role {info.role.value}. "
               "Store it now: it cannot be shown again.", err=True)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant's keys")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """List keys (ids, tenants, roles, revocation; never secrets)."""
    from serving.api.keys import KeyStore

    keys = KeyStore().list(tenant)
    rows = [{"key_id": k.key_id, "tenant_id": k.tenant_id, "role": k.role.value, "created_at": k.created_at,
             "revoked": k.revoked, "label": k.label} for k in keys]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    for r in rows:
        typer.echo(f"{r['key_id']}  {r['tenant_id']}  {r['role']}  {r['created_at']}"
                   f"{'  REVOKED' if r['revoked'] else ''}  {r['label']}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id (the part after mck_)")]) -> None:
    """Revoke a key (replicas that cached it stop accepting it within ``key_cache_s``)."""
    from serving.api.keys import KeyStore

    if not KeyStore().revoke(key_id):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}", err=True)


def serve(
    config: Annotated[Path | None, typer.Option("--config", help="Serve config (default serving/serve_config.yaml)")] = None,
    host: Annotated[str | None, typer.Option(help="default: http_options.host (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default: http_options.port (8000)")] = None,
    actor_cpus: Annotated[float, typer.Option("--actor-cpus", help="num_cpus per replica (0 fits 2 cores; -1 keeps the YAML's)")] = 0.0,
) -> None:
    """Start the Ray Serve app locally (API on 127.0.0.1:8000 unless configured)."""
    from serving.deploy.local import run_local

    typer.echo("starting Ray Serve (about 10 s)...", err=True)
    run_local(config, host=host, port=port, actor_cpus=None if actor_cpus < 0 else actor_cpus, blocking=False)
    typer.echo("serving; Ctrl-C stops", err=True)
    import time

    from ray import serve as ray_serve

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        ray_serve.shutdown()


def render_rayservice(
    out: Annotated[Path, typer.Option("--out", help="where to write the manifest (YAML)")],
    config: Annotated[Path | None, typer.Option("--config", help="Serve config (default serving/serve_config.yaml)")] = None,
    image: Annotated[str, typer.Option(help="container image with medcode and Ray 2.60")] = "medcode:latest",
    namespace: Annotated[str, typer.Option(help="Kubernetes namespace")] = "medcode",
) -> None:
    """Render the Serve config into a KubeRay RayService manifest (sorted keys, deterministic)."""
    from serving.deploy.rayservice import dump
    from serving.deploy.rayservice import render_rayservice as render

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(render(config, image=image, namespace=namespace)))
    typer.echo(f"wrote {out}", err=True)
