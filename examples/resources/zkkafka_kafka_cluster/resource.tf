terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

variable "kubeconfig" {
  type        = string
  description = "Kubeconfig of the cluster to run Kafka in."
  default     = "~/.kube/config"
}

variable "namespace" {
  type        = string
  description = "An existing namespace for the cluster."
  default     = "data"
}

provider "zkkafka" {
  kubernetes {
    config_path = var.kubeconfig
  }
}

# A KRaft cluster: three dedicated controllers (a static voter set) and three brokers.
resource "zkkafka_kafka_cluster" "events" {
  name      = "events"
  namespace = var.namespace
  version   = "4.1.2"
  brokers   = 3

  kraft {
    controllers = 3
  }

  listeners {
    name = "INTERNAL"
    port = 9092
  }

  storage {
    size = "20Gi"
  }

  resources {
    requests = { cpu = "500m", memory = "2Gi" }
    limits   = { memory = "2Gi" }
  }
  jvm_heap = "1g"

  # server.properties for every broker; keys the provider owns (node.id, listeners,
  # log.dirs, process.roles, controller.*, ...) are rejected.
  config = {
    "default.replication.factor" = "3"
    "min.insync.replicas"        = "2"
    "log.retention.hours"        = "72"
  }

  labels = {
    team = "data"
  }

  timeouts {
    create = "15m"
    update = "30m"
  }
}

output "bootstrap_servers" {
  value = zkkafka_kafka_cluster.events.bootstrap_servers
}

output "cluster_id" {
  value = zkkafka_kafka_cluster.events.cluster_id
}

output "kubernetes_objects" {
  value = zkkafka_kafka_cluster.events.kubernetes_objects
}
