"""infra/terraform: every .tf parses (python-hcl2) and the modules keep their structural promises.

There is no terraform binary here or in CI, so these tests read the HCL itself: queues have
redrive policies, tables have PITR + a CMK + TTL, buckets have a public access block, SSE-KMS and
versioning, the Lambda policies name concrete resources, event source mappings report batch item
failures, and the compute module deploys the RayService from the rendered manifest's path.
checkov runs separately (``make tf-check``).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

hcl2 = pytest.importorskip("hcl2")

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "infra" / "terraform"
MODULES = TF / "modules"
ENVS = ("dev", "prod")
STAGES = {"ingest", "code", "scrub", "submit", "remit"}
TF_FILES = sorted(TF.rglob("*.tf"))
TFVARS_FILES = sorted(TF.rglob("*.tfvars"))

# IAM actions that have no resource-level permissions: "*" is their only valid resource
NO_RESOURCE_LEVEL = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def _unquote(value: Any) -> Any:
    """python-hcl2 8 keeps string literals quoted and marks blocks; strip both."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


@cache
def _parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return _unquote(hcl2.load(fh))


def _module(name: str) -> dict[str, Any]:
    """All blocks of one module, merged over its .tf files."""
    merged: dict[str, list] = {}
    for path in sorted((MODULES / name).glob("*.tf")):
        for kind, blocks in _parse(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def _blocks(module: dict[str, Any], kind: str, type_: str) -> dict[str, dict[str, Any]]:
    """{name: body} of the module's ``resource``/``data`` blocks of one type."""
    out: dict[str, dict[str, Any]] = {}
    for block in module.get(kind, []):
        for body in block.get(type_, {}).items() if type_ in block else ():
            out[body[0]] = body[1]
    return out


def _all(kind: str, type_: str) -> dict[str, dict[str, Any]]:
    out = {}
    for mod in sorted(p.name for p in MODULES.iterdir() if p.is_dir()):
        for name, body in _blocks(_module(mod), kind, type_).items():
            out[f"{mod}.{name}"] = body
    return out


def _one(body: dict[str, Any], key: str) -> dict[str, Any]:
    blocks = body.get(key)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one {key} block"
    return blocks[0]


def _refs(body: dict[str, Any], type_: str) -> set[str]:
    """Names of `type_` resources/modules a body's ``bucket`` points at (aws_s3_bucket.X.id)."""
    return set(re.findall(rf"{type_}\.(\w+)", str(body.get("bucket", ""))))


# ---- parsing ------------------------------------------------------------------------------------


def test_terraform_tree_exists():
    assert len(TF_FILES) >= 25
    for mod in ("network", "data", "queues", "functions", "api", "compute", "observability"):
        assert (MODULES / mod / "main.tf").is_file(), mod
    for name in ("main.tf", "variables.tf", "versions.tf", "outputs.tf"):
        assert (TF / "stack" / name).is_file(), name
    for env in ENVS:
        assert (TF / "envs" / f"{env}.tfvars").is_file(), env


@pytest.mark.parametrize("path", TF_FILES + TFVARS_FILES, ids=lambda p: str(p.relative_to(TF)))
def test_parses(path: Path):
    assert isinstance(_parse(path), dict)


# ---- queues -------------------------------------------------------------------------------------


def test_every_queue_has_dlq_and_redrive_and_kms():
    queues = _all("resource", "aws_sqs_queue")
    assert set(queues) == {"queues.stage", "queues.dlq"}
    stage, dlq = queues["queues.stage"], queues["queues.dlq"]
    assert "aws_sqs_queue.dlq[each.key].arn" in stage["redrive_policy"]
    assert "maxReceiveCount" in stage["redrive_policy"]
    for q in (stage, dlq):
        assert "module.sqs_key.arn" in q["kms_master_key_id"]
    variables = {k: v for b in _module("queues")["variable"] for k, v in b.items()}
    assert set(variables["stages"]["default"]) == STAGES


# ---- tables -------------------------------------------------------------------------------------


def test_every_table_has_pitr_cmk_and_ttl():
    tables = _all("resource", "aws_dynamodb_table")
    assert tables, "no DynamoDB tables"
    for name, body in tables.items():
        assert _one(body, "point_in_time_recovery")["enabled"] is True, name
        sse = _one(body, "server_side_encryption")
        assert sse["enabled"] is True and "module." in sse["kms_key_arn"] and ".arn" in sse["kms_key_arn"], (
            name
        )
        ttl = _one(body, "ttl")
        assert ttl["enabled"] is True and ttl["attribute_name"], name


def test_tables_are_app_idempotency_audit_with_audit_ttl_attribute():
    local = {k: v for b in _module("data")["locals"] for k, v in b.items()}
    tables = local["tables"]
    assert set(tables) == {"app", "idempotency", "audit"}
    # audit/models.py: TTLAttribute named ttl, keys shard + seq
    assert tables["audit"]["ttl"] == "ttl"
    assert (tables["audit"]["hash_key"], tables["audit"]["range_key"]) == ("shard", "seq")
    for role in tables:
        assert "${local.name}" in tables[role]["name"]


def test_kms_keys_rotate():
    key = _blocks(_module("kms_key"), "resource", "aws_kms_key")["this"]
    assert key["enable_key_rotation"] is True
    assert "policy" in key


# ---- buckets ------------------------------------------------------------------------------------


def test_every_bucket_has_public_access_block_sse_kms_and_versioning():
    buckets = _all("resource", "aws_s3_bucket")
    assert set(buckets) == {"s3_bucket.this", "data.access_logs"}
    for mod, name in (("s3_bucket", "this"), ("data", "access_logs")):
        m = _module(mod)
        pab = [
            b
            for b in _blocks(m, "resource", "aws_s3_bucket_public_access_block").values()
            if name in _refs(b, "aws_s3_bucket")
        ]
        assert len(pab) == 1 and all(
            pab[0][k] is True
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
        ver = [
            b
            for b in _blocks(m, "resource", "aws_s3_bucket_versioning").values()
            if name in _refs(b, "aws_s3_bucket")
        ]
        assert len(ver) == 1 and _one(ver[0], "versioning_configuration")["status"] == "Enabled"
        sse = [
            b
            for b in _blocks(m, "resource", "aws_s3_bucket_server_side_encryption_configuration").values()
            if name in _refs(b, "aws_s3_bucket")
        ]
        assert len(sse) == 1
        default = _one(_one(sse[0], "rule"), "apply_server_side_encryption_by_default")
        if (mod, name) == ("data", "access_logs"):
            # S3 delivers server access logs only to SSE-S3 buckets: the one documented exception
            assert default["sse_algorithm"] == "AES256"
        else:
            assert (
                default["sse_algorithm"] == "aws:kms" and default["kms_master_key_id"] == "${var.kms_key_arn}"
            )
    logging = _blocks(_module("s3_bucket"), "resource", "aws_s3_bucket_logging")["this"]
    assert logging["target_bucket"] == "${var.access_log_bucket}"


def test_audit_digest_bucket_has_compliance_object_lock():
    data = _module("data")
    bucket_call = {k: v for b in data["module"] for k, v in b.items()}["bucket"]
    assert bucket_call["for_each"]["audit_digests"]["lock"] == "${var.audit_lock_mode}"
    assert {v["lock"] for k, v in bucket_call["for_each"].items() if k != "audit_digests"} == {None}
    dvars = {k: v for b in data["variable"] for k, v in b.items()}
    assert dvars["audit_lock_mode"]["default"] == "COMPLIANCE"
    assert dvars["audit_digest_retention_days"]["default"] >= 2193
    lock = _blocks(_module("s3_bucket"), "resource", "aws_s3_bucket_object_lock_configuration")["this"]
    retention = _one(_one(lock, "rule"), "default_retention")
    assert retention["mode"] == "${var.object_lock_mode}"
    prod = _parse(TF / "envs" / "prod.tfvars")
    assert prod["audit_lock_mode"] == "COMPLIANCE"


# ---- functions ----------------------------------------------------------------------------------


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(doc.get("statement", []))
    for dyn in doc.get("dynamic", []):
        for _, body in dyn.items():
            out.extend(body.get("content", []))
    return out


def test_lambda_policies_name_concrete_resources_and_no_wildcard_actions():
    fn = _module("functions")
    doc = _blocks(fn, "data", "aws_iam_policy_document")["stage"]
    statements = _statements(doc)
    assert len(statements) >= 12
    for st in statements:
        resources = st["resources"]
        if isinstance(resources, str):  # concat(...) of concrete ARNs (VpcEniCreate)
            assert resources.startswith("${concat(") and '*"' not in resources.replace(
                'network-interface/*"', ""
            ), st.get("sid")
            continue
        assert isinstance(resources, list) and resources, st.get("sid")
        if "*" in resources:
            assert resources == ["*"] and set(st["actions"]) <= NO_RESOURCE_LEVEL, st.get("sid")
            continue
        for r in resources:
            assert r.startswith("${") or r.startswith("arn:"), (st.get("sid"), r)
            assert r not in ("*", "arn:aws:*"), (st.get("sid"), r)
    # no action anywhere in the module is a wildcard (literal lists and the locals they come from)
    text = "\n".join(p.read_text() for p in (MODULES / "functions").glob("*.tf"))
    actions = re.findall(r'"((?:[a-z0-9-]+):[A-Za-z*]+)"', text)
    assert actions and not [a for a in actions if "*" in a and not a.startswith(("logs:", "arn:"))]
    local = {k: v for b in fn["locals"] for k, v in b.items()}
    assert set(local["stage_access"]) == STAGES
    for stage, access in local["stage_access"].items():
        for a in access["app_actions"] + access["phi_actions"] + access["documents"]:
            assert "*" not in a, (stage, a)


def test_one_lambda_per_stage_with_tracing_dlq_vpc_concurrency_env():
    fn = _module("functions")
    lam = _blocks(fn, "resource", "aws_lambda_function")["stage"]
    assert lam["for_each"] == "${local.stages}"
    assert _one(lam, "tracing_config")["mode"] == "Active"
    assert "var.dlq_arns[each.key]" in _one(lam, "dead_letter_config")["target_arn"]
    assert "reserved_concurrency" in lam["reserved_concurrent_executions"]
    vpc = _one(lam, "vpc_config")
    assert vpc["subnet_ids"] == "${var.private_subnet_ids}"
    env = _one(lam, "environment")["variables"]
    for name in (
        "MEDCODE_AUDIT_TABLE",
        "MEDCODE_AWS_REGION",
        "MEDCODE_DYNAMODB_ENDPOINT",
        "MEDCODE_AUDIT_DIGEST_BUCKET",
    ):
        assert name in env, name
    assert lam["handler"].startswith("${lookup(var.handlers, each.key")
    # package built elsewhere: a file name or an S3 key variable
    assert lam["filename"] == "${var.package_filename}"
    assert "var.package_s3_key" in lam["s3_key"]
    invoke = _blocks(fn, "resource", "aws_lambda_function_event_invoke_config")["stage"]
    on_failure = _one(_one(invoke, "destination_config"), "on_failure")
    assert "var.dlq_arns[each.key]" in on_failure["destination"]


def test_event_source_mappings_report_batch_item_failures():
    mappings = _all("resource", "aws_lambda_event_source_mapping")
    assert mappings
    for name, body in mappings.items():
        assert body["function_response_types"] == ["ReportBatchItemFailures"], name
        assert "var.queue_arns[each.key]" in body["event_source_arn"], name


# ---- api, compute, observability ---------------------------------------------------------------


def test_api_keys_usage_plans_and_waf_on_the_stage():
    api = _module("api")
    assert _blocks(api, "resource", "aws_api_gateway_method")["proxy"]["api_key_required"] is True
    assert _blocks(api, "resource", "aws_api_gateway_usage_plan")
    assert _blocks(api, "resource", "aws_api_gateway_usage_plan_key")
    assoc = _blocks(api, "resource", "aws_wafv2_web_acl_association")["stage"]
    assert "aws_api_gateway_stage.this.arn" in assoc["resource_arn"]
    acl = _blocks(api, "resource", "aws_wafv2_web_acl")["this"]
    assert any("rate_based_statement" in _one(r, "statement") for r in acl["rule"])
    stage = _blocks(api, "resource", "aws_api_gateway_stage")["this"]
    assert stage["xray_tracing_enabled"] is True and _one(stage, "access_log_settings")


def test_compute_consumes_the_rendered_rayservice_manifest():
    compute = _module("compute")
    manifest = _blocks(compute, "resource", "kubernetes_manifest")["rayservice"]
    assert manifest["manifest"] == "${yamldecode(file(var.rayservice_manifest_path))}"
    variables = {k: v for b in compute["variable"] for k, v in b.items()}
    assert "rayservice_manifest_path" in variables and "default" not in variables["rayservice_manifest_path"]
    for env in ENVS:
        call = {k: v for b in _parse(TF / "stack" / "main.tf")["module"] for k, v in b.items()}[
            "compute"
        ]
        assert call["rayservice_manifest_path"] == "${var.rayservice_manifest_path}"
        assert _parse(TF / "envs" / f"{env}.tfvars")["rayservice_manifest_path"].endswith(".yaml")
    releases = _blocks(compute, "resource", "helm_release")
    assert releases["kuberay_operator"]["chart"] == "kuberay-operator"
    assert releases["kuberay_operator"]["version"] == "${var.kuberay_operator_chart_version}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", variables["kuberay_operator_chart_version"]["default"])
    assert {"cluster_autoscaler", "nvidia_device_plugin", "kuberay_operator"} <= set(releases)
    gpu = _blocks(compute, "resource", "aws_eks_node_group")["gpu"]
    assert _one(gpu, "taint")["key"] == "nvidia.com/gpu"
    cluster = _blocks(compute, "resource", "aws_eks_cluster")["this"]
    vpc = _one(cluster, "vpc_config")
    assert vpc["endpoint_public_access"] is False and vpc["endpoint_private_access"] is True
    assert _one(cluster, "encryption_config")["resources"] == ["secrets"]


def test_alarms_cover_every_dlq_and_function_and_the_api():
    obs = _module("observability")
    alarms = _blocks(obs, "resource", "aws_cloudwatch_metric_alarm")
    assert alarms["dlq_depth"]["for_each"] == "${var.dlq_names}"
    assert alarms["lambda_error_rate"]["for_each"] == "${var.function_names}"
    assert alarms["lambda_duration"]["for_each"] == "${var.function_names}"
    assert {"api_5xx", "api_latency"} <= set(alarms)
    trail = _blocks(obs, "resource", "aws_cloudtrail")["this"]
    assert trail["is_multi_region_trail"] is True and trail["enable_log_file_validation"] is True
    assert "module.key.arn" in trail["kms_key_id"]


def test_envs_call_every_module_in_deploy_order():
    order = ["network", "data", "queues", "functions", "api", "compute", "observability"]
    for env in ENVS:
        calls = [k for b in _parse(TF / "stack" / "main.tf")["module"] for k in b]
        assert calls == order, env
        assert _parse(TF / "envs" / f"{env}.tfvars")["environment"] == env
