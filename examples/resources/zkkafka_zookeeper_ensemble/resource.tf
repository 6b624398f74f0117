terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

variable "kubeconfig" {
  type        = string
  description = "Kubeconfig of the cluster to run the ensemble in."
  default     = "~/.kube/config"
}

variable "namespace" {
  type        = string
  description = "An existing namespace for the ensemble."
  default     = "data"
}

provider "zkkafka" {
  kubernetes {
    config_path = var.kubeconfig
  }
}

# Three members: one may fail (or be restarted) and the ensemble keeps serving.
resource "zkkafka_zookeeper_ensemble" "main" {
  name      = "zk"
  namespace = var.namespace
  replicas  = 3
  version   = "3.9.3"

  storage {
    size = "10Gi"
  }

  resources {
    requests = { cpu = "500m", memory = "1Gi" }
    limits   = { cpu = "1000m", memory = "1Gi" }
  }
  jvm_heap = "512m"

  # zoo.cfg tunables; keys the provider owns (server.*, dataDir, clientPort, ...) are rejected.
  config = {
    maxClientCnxns = "120"
  }

  labels = {
    team = "data"
  }

  timeouts {
    create = "10m"
    update = "20m"
  }
}

output "connect_string" {
  value = zkkafka_zookeeper_ensemble.main.connect_string
}

output "kubernetes_objects" {
  value = zkkafka_zookeeper_ensemble.main.kubernetes_objects
}
