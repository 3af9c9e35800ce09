variable "project" {
  description = "Name prefix."
  type        = string
  default     = "medcode"
}

variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "vpc_id" {
  description = "VPC (network module)."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR (API endpoint reachable from inside only)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the control plane ENIs and nodes."
  type        = list(string)
}

variable "api_allowed_cidrs" {
  description = "Extra CIDRs (e.g. a peered operations VPC or VPN) allowed to reach the private API endpoint."
  type        = list(string)
  default     = []
}

variable "system_instance_types" {
  description = "Instance types of the system (CPU) node group: KubeRay operator, autoscaler, Ray head."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "system_min_size" {
  description = "System node group min (and initial desired) size."
  type        = number
  default     = 2
}

variable "system_max_size" {
  description = "System node group max size."
  type        = number
  default     = 4
}

variable "gpu_instance_types" {
  description = "GPU instance types (g5.* for the 7B-class coder LLM, p4d.24xlarge for larger models)."
  type        = list(string)
  default     = ["g5.2xlarge"]
}

variable "gpus_per_node" {
  description = "GPUs per GPU node (scale-from-zero hint for the autoscaler): g5.2xlarge 1, g5.12xlarge 4, p4d.24xlarge 8."
  type        = number
  default     = 1
}

variable "gpu_capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
}

variable "gpu_min_size" {
  description = "GPU node group min size (0 lets the autoscaler scale to zero)."
  type        = number
  default     = 0
}

variable "gpu_max_size" {
  description = "GPU node group max size."
  type        = number
  default     = 2
}

variable "gpu_disk_gb" {
  description = "GPU node root volume (images with CUDA + vLLM are large)."
  type        = number
  default     = 200
}

variable "gpu_scale_down_unneeded_time" {
  description = "How long a GPU node sits idle before the autoscaler removes it."
  type        = string
  default     = "10m"
}

variable "cluster_autoscaler_chart_version" {
  description = "Pinned cluster-autoscaler chart version."
  type        = string
  default     = "9.46.6"
}

variable "cluster_autoscaler_image" {
  description = "Image repository override (an ECR mirror when nodes have no internet egress); null = chart default."
  type        = string
  default     = null
}

variable "nvidia_device_plugin_chart_version" {
  description = "Pinned nvidia-device-plugin chart version."
  type        = string
  default     = "0.17.1"
}

variable "nvidia_device_plugin_image" {
  description = "Image repository override (ECR mirror); null = chart default."
  type        = string
  default     = null
}

variable "kuberay_operator_chart_version" {
  description = "Pinned kuberay-operator chart version (KubeRay >= 1.1 for RayService v1 with Serve config V2)."
  type        = string
  default     = "1.4.2"
}

variable "kuberay_operator_image" {
  description = "Image repository override (ECR mirror); null = chart default."
  type        = string
  default     = null
}

variable "kuberay_namespace" {
  description = "Namespace of the KubeRay operator."
  type        = string
  default     = "kuberay-system"
}

variable "serving_namespace" {
  description = "Namespace of the RayService (must match the rendered manifest's metadata.namespace)."
  type        = string
  default     = "medcode-serving"
}

variable "rayservice_manifest_path" {
  description = "Path of the RayService manifest rendered by `medcode render-rayservice --out FILE` from serving/serve_config.yaml."
  type        = string
}

variable "log_retention_days" {
  description = "Control-plane log retention (days)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default     = {}
}
