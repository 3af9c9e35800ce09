# EKS (private endpoint, KMS secrets encryption, control-plane logging) with a system node group
# and a tainted GPU node group, IRSA, the cluster autoscaler, the NVIDIA device plugin, the KubeRay
# operator (pinned chart) and the RayService rendered from serving/serve_config.yaml.
#
# Providers: the root (envs/*) configures aws, kubernetes and helm; kubernetes/helm reach the
# private API endpoint, so apply from inside the VPC (see infra/README.md).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name      = "${var.project}-${var.environment}"
  cluster   = "${local.name}-eks"
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  oidc_host = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}

module "eks_key" {
  source      = "../kms_key"
  alias       = "${local.name}-eks"
  description = "EKS secrets envelope encryption of ${local.cluster}"
  tags        = var.tags
}

module "logs_key" {
  source             = "../kms_key"
  alias              = "${local.name}-eks-logs"
  description        = "EKS control-plane logs of ${local.cluster}"
  service_principals = ["logs.${local.region}.amazonaws.com"]
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "cluster" {
  # EKS writes here; creating it first sets retention and the KMS key
  name              = "/aws/eks/${local.cluster}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}

# ---- cluster ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${local.cluster}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_security_group" "cluster" {
  name        = "${local.cluster}-control-plane"
  description = "EKS control plane: HTTPS from inside the VPC only"
  vpc_id      = var.vpc_id

  ingress {
    description = "Kubernetes API from the VPC (nodes, operators' runners)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = concat([var.vpc_cidr], var.api_allowed_cidrs)
  }

  egress {
    description = "To nodes and VPC endpoints"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = merge(var.tags, { Name = "${local.cluster}-control-plane" })
}

resource "aws_eks_cluster" "this" {
  name                      = local.cluster
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    security_group_ids      = [aws_security_group.cluster.id]
    endpoint_private_access = true
    endpoint_public_access  = false
  }

  encryption_config {
    provider {
      key_arn = module.eks_key.arn
    }
    resources = ["secrets"]
  }

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.cluster]
}

# IRSA: pods assume IAM roles through the cluster's OIDC issuer
data "tls_certificate" "oidc" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc.certificates[0].sha1_fingerprint]
  tags            = var.tags
}

# ---- node groups --------------------------------------------------------------------------------

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${local.cluster}-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ])
  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

resource "aws_launch_template" "node" {
  for_each    = toset(["system", "gpu"])
  name_prefix = "${local.cluster}-${each.key}-"
  description = "IMDSv2 only and encrypted root volumes for the ${each.key} nodes"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.key == "gpu" ? var.gpu_disk_gb : 50
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = module.eks_key.arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${local.cluster}-${each.key}" })
  }
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  instance_types  = var.system_instance_types
  ami_type        = "AL2023_x86_64_STANDARD"

  launch_template {
    id      = aws_launch_template.node["system"].id
    version = aws_launch_template.node["system"].latest_version
  }

  scaling_config {
    min_size     = var.system_min_size
    desired_size = var.system_min_size
    max_size     = var.system_max_size
  }

  labels = { "medcode.io/pool" = "system" }
  tags   = var.tags

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }
  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "gpu" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "gpu"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  instance_types  = var.gpu_instance_types
  ami_type        = "AL2023_x86_64_NVIDIA"
  capacity_type   = var.gpu_capacity_type

  launch_template {
    id      = aws_launch_template.node["gpu"].id
    version = aws_launch_template.node["gpu"].latest_version
  }

  scaling_config {
    min_size     = var.gpu_min_size
    desired_size = var.gpu_min_size
    max_size     = var.gpu_max_size
  }

  # only pods that tolerate the GPU taint (Ray GPU workers, the device plugin) land here
  taint {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }

  labels = {
    "medcode.io/pool"        = "gpu"
    "nvidia.com/gpu.present" = "true"
  }
  tags = var.tags

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }
  depends_on = [aws_iam_role_policy_attachment.node]
}

# scale-from-zero: the autoscaler reads the GPU group's labels, taints and GPU count from ASG tags
resource "aws_autoscaling_group_tag" "gpu" {
  for_each = {
    "k8s.io/cluster-autoscaler/node-template/label/medcode.io/pool"   = "gpu"
    "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"    = "true:NoSchedule"
    "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu" = tostring(var.gpus_per_node)
  }
  autoscaling_group_name = aws_eks_node_group.gpu.resources[0].autoscaling_groups[0].name
  tag {
    key                 = each.key
    value               = each.value
    propagate_at_launch = false
  }
}

# ---- cluster autoscaler (IRSA + helm) ----------------------------------------------------------

data "aws_iam_policy_document" "autoscaler_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:kube-system:cluster-autoscaler"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "autoscaler" {
  name               = "${local.cluster}-cluster-autoscaler"
  assume_role_policy = data.aws_iam_policy_document.autoscaler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "autoscaler" {
  # scale only this cluster's node groups (EKS tags their ASGs with the cluster name)
  statement {
    sid       = "ScaleOwnNodeGroups"
    actions   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account}:autoScalingGroup:*:autoScalingGroupName/eks-*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${local.cluster}"
      values   = ["owned"]
    }
  }

  statement {
    sid       = "DescribeNodeGroup"
    actions   = ["eks:DescribeNodegroup"]
    resources = ["arn:${local.partition}:eks:${local.region}:${local.account}:nodegroup/${local.cluster}/*/*"]
  }

  # Describe* calls have no resource-level permissions in IAM
  statement {
    sid = "NoResourceLevelPermissions"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "autoscaler" {
  name   = "cluster-autoscaler"
  role   = aws_iam_role.autoscaler.id
  policy = data.aws_iam_policy_document.autoscaler.json
}

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_chart_version

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = local.region
    autoDiscovery = { clusterName = aws_eks_cluster.this.name }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler"
        annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.autoscaler.arn }
      }
    }
    image        = var.cluster_autoscaler_image == null ? {} : { repository = var.cluster_autoscaler_image }
    nodeSelector = { "medcode.io/pool" = "system" }
    extraArgs = {
      "balance-similar-node-groups"   = true
      "skip-nodes-with-system-pods"   = false
      "expander"                      = "least-waste"
      "scale-down-unneeded-time"      = var.gpu_scale_down_unneeded_time
    }
  })]

  depends_on = [aws_eks_node_group.system, aws_iam_role_policy.autoscaler]
}

# ---- NVIDIA device plugin ------------------------------------------------------------------------

resource "helm_release" "nvidia_device_plugin" {
  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.nvidia_device_plugin_chart_version

  values = [yamlencode({
    image        = var.nvidia_device_plugin_image == null ? {} : { repository = var.nvidia_device_plugin_image }
    nodeSelector = { "medcode.io/pool" = "gpu" }
    tolerations = [
      { key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" },
      { key = "CriticalAddonsOnly", operator = "Exists" },
    ]
  })]

  depends_on = [aws_eks_node_group.gpu]
}

# ---- KubeRay operator and the RayService -------------------------------------------------------

resource "helm_release" "kuberay_operator" {
  name             = "kuberay-operator"
  namespace        = var.kuberay_namespace
  create_namespace = true
  repository       = "https://ray-project.github.io/kuberay-helm/"
  chart            = "kuberay-operator"
  version          = var.kuberay_operator_chart_version

  values = [yamlencode({
    image        = var.kuberay_operator_image == null ? {} : { repository = var.kuberay_operator_image }
    nodeSelector = { "medcode.io/pool" = "system" }
  })]

  depends_on = [aws_eks_node_group.system]
}

resource "kubernetes_namespace" "serving" {
  metadata {
    name   = var.serving_namespace
    labels = { "app.kubernetes.io/part-of" = "medcode" }
  }
  depends_on = [aws_eks_node_group.system]
}

# The manifest is rendered from serving/serve_config.yaml by
#   medcode render-rayservice --out <file>   (serving/deploy/rayservice.py: render_rayservice)
# and passed in as a path; nothing here re-states the Serve config.
resource "kubernetes_manifest" "rayservice" {
  manifest = yamldecode(file(var.rayservice_manifest_path))

  field_manager {
    name            = "terraform-medcode"
    force_conflicts = true
  }

  wait {
    fields = {
      "status.serviceStatus" = "Running"
    }
  }

  timeouts {
    create = "30m"
    update = "30m"
  }

  depends_on = [helm_release.kuberay_operator, helm_release.nvidia_device_plugin, kubernetes_namespace.serving]
}
