# A ZooKeeper-mode stack in one configuration, applied in one run: a ZooKeeper ensemble, the
# chroot znode Kafka keeps its metadata under (with an ACL), and a Kafka 3.9 cluster on it.
terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

variable "kubeconfig" {
  type        = string
  description = "Kubeconfig of the cluster to run the stack in."
  default     = "~/.kube/config"
}

variable "namespace" {
  type        = string
  description = "An existing namespace for the ensemble and the cluster."
  default     = "data"
}

variable "zookeeper_address" {
  type        = string
  description = <<-EOT
    host:port where Terraform reaches the ensemble's client port to manage the chroot znode.
    Null: the ensemble's in-cluster connect_string, which resolves when Terraform runs inside
    the cluster. From outside, point it at a port-forward or load balancer of the client Service.
  EOT
  default     = null
}

variable "zookeeper_admin_password" {
  type        = string
  description = "Password of the digest user \"admin\" that may change the chroot's ACL."
  sensitive   = true
  default     = "change-me"
}

variable "pod_cidr" {
  type        = string
  description = "The pod network: brokers connect to ZooKeeper from there (ip ACL)."
  default     = "10.0.0.0/8"
}

provider "zkkafka" {
  kubernetes {
    config_path = var.kubeconfig
  }
}

resource "zkkafka_zookeeper_ensemble" "zk" {
  name      = "zk"
  namespace = var.namespace
  replicas  = 3

  storage {
    size = "10Gi"
  }
}

# The chroot: brokers (from the pod network) may do anything under it; the admin digest user
# may too, from anywhere; nobody else. The provider talks to the ensemble directly for this.
resource "zkkafka_znode" "chroot" {
  path = "/events"

  zookeeper {
    connect_string = coalesce(var.zookeeper_address, zkkafka_zookeeper_ensemble.zk.connect_string)
    auth {
      scheme      = "digest"
      credentials = "admin:${var.zookeeper_admin_password}"
    }
  }

  acl {
    scheme      = "ip"
    id          = var.pod_cidr
    permissions = "cdrwa"
  }
  acl {
    scheme      = "digest"
    id          = nonsensitive(provider::zkkafka::digest_id("admin", var.zookeeper_admin_password))
    permissions = "cdrwa"
  }
}

# Kafka 3.9 brokers on the ensemble, under the chroot: the cluster takes the ensemble's
# connect_string, known at plan time, so everything plans and applies in one run.
resource "zkkafka_kafka_cluster" "events" {
  name      = "events"
  namespace = var.namespace
  version   = "3.9.2"
  brokers   = 3

  zookeeper {
    connect_string = zkkafka_zookeeper_ensemble.zk.connect_string
    chroot         = zkkafka_znode.chroot.path
  }

  storage {
    size = "20Gi"
  }

  config = {
    "default.replication.factor" = "3"
    "min.insync.replicas"        = "2"
  }
}

output "bootstrap_servers" {
  value = zkkafka_kafka_cluster.events.bootstrap_servers
}

output "zookeeper_connect" {
  value = "${zkkafka_zookeeper_ensemble.zk.connect_string}${zkkafka_znode.chroot.path}"
}
