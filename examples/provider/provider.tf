terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

variable "zookeeper_connect" {
  description = "ZooKeeper connect string, e.g. zk-0.zk:2181,zk-1.zk:2181"
  type        = string
}

variable "zookeeper_admin_password" {
  type      = string
  sensitive = true
}

provider "zkkafka" {
  # Optional: defaults to KUBECONFIG, ~/.kube/config, or the in-cluster service account.
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "prod"
  }

  # Optional: the default connection of zkkafka_znode and zkkafka_znode_acl.
  zookeeper {
    connect_string  = var.zookeeper_connect
    session_timeout = "30s"
    auth {
      scheme      = "digest"
      credentials = "admin:${var.zookeeper_admin_password}"
    }
  }
}
