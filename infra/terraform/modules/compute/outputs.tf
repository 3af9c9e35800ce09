output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Private API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_ca" {
  description = "Base64 cluster CA."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "oidc_provider_arn" {
  description = "IRSA OIDC provider."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "rayservice_name" {
  description = "Name of the deployed RayService."
  value       = kubernetes_manifest.rayservice.manifest.metadata.name
}
