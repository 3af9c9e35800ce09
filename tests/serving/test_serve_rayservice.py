"""The rendered KubeRay RayService carries exactly the local Serve config."""

from __future__ import annotations

import yaml

from serving.deploy.config import DEFAULT_CONFIG, application, deployment_options, load_serve_config
from serving.deploy.rayservice import dump, render_rayservice


def test_serve_config_v2_matches_the_local_config():
    local = load_serve_config()
    manifest = render_rayservice(DEFAULT_CONFIG, image="registry.example/medcode:1", namespace="coding")
    assert manifest["apiVersion"] == "ray.io/v1" and manifest["kind"] == "RayService"
    assert manifest["metadata"]["namespace"] == "coding"
    served = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    assert served == local
    app = application(served)
    assert app["import_path"] == "serving.app:build_app" and app["route_prefix"] == "/"
    # the same per-deployment options the local runner applies (before its CPU/GPU host overrides)
    assert deployment_options(app) == deployment_options(application(local))
    by_name = {d["name"]: d for d in app["deployments"]}
    assert set(by_name) == {"Ingress", "Retriever", "Ranker"}
    for d in by_name.values():
        auto = d["autoscaling_config"]
        assert {"min_replicas", "max_replicas", "target_ongoing_requests"} <= set(auto)
        assert {"max_ongoing_requests", "max_queued_requests", "health_check_period_s",
                "health_check_timeout_s"} <= set(d)
    assert by_name["Retriever"]["ray_actor_options"]["num_gpus"] > 0
    # the LLM deployment is on only where a model path is configured (MEDCODE_LLM_MODEL_PATH)
    assert app["args"]["llm"]["enabled"] is None and app["args"]["llm"]["model_path"] is None


def test_serve_config_v2_is_valid_for_ray():
    from ray.serve.schema import ServeDeploySchema

    manifest = render_rayservice()
    schema = ServeDeploySchema.model_validate(yaml.safe_load(manifest["spec"]["serveConfigV2"]))
    assert [d.name for d in schema.applications[0].deployments] == ["Ingress", "Retriever", "Ranker"]


def test_cluster_has_a_gpu_worker_group_and_output_is_deterministic():
    m = render_rayservice(image="img:1")
    cluster = m["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"] == "2.60.0"
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == "img:1"
    [gpu] = cluster["workerGroupSpecs"]
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
    assert 1 <= gpu["minReplicas"] <= gpu["maxReplicas"]
    assert dump(m) == dump(render_rayservice(image="img:1"))
    text = dump(m)
    assert yaml.safe_load(text) == m


def test_render_command_writes_the_manifest(tmp_path):
    import typer
    from typer.testing import CliRunner

    from medcode import serve_commands

    app = typer.Typer()
    app.command("render-rayservice")(serve_commands.render_rayservice)
    app.command("noop")(lambda: None)
    out = tmp_path / "rayservice.yaml"
    res = CliRunner().invoke(app, ["render-rayservice", "--out", str(out), "--image", "img:2"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(out.read_text()) == render_rayservice(image="img:2")


def test_local_options_drop_gpus_on_a_cpu_host():
    opts = deployment_options(application(load_serve_config()), gpus=False, actor_cpus=0)
    for o in opts.values():
        assert o["ray_actor_options"] == {"num_cpus": 0}
