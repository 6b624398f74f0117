# The quickstart: a small tree of znodes with ACLs on a local ZooKeeper.
# `scripts/demo.sh` runs it end to end.
terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

variable "zookeeper_connect" {
  type    = string
  default = "127.0.0.1:2181"
}

variable "app_password" {
  type      = string
  sensitive = true
  default   = "quickstart-secret"
}

provider "zkkafka" {
  zookeeper {
    connect_string = var.zookeeper_connect
    auth {
      scheme      = "digest"
      credentials = "app:${var.app_password}"
    }
  }
}

resource "zkkafka_znode" "app" {
  path = "/quickstart"
  data = "owned by terraform"
}

resource "zkkafka_znode" "settings" {
  path = "${zkkafka_znode.app.path}/settings"
  data = jsonencode({ greeting = "hello", replicas = 3 })

  acl {
    scheme      = "digest"
    id          = nonsensitive(provider::zkkafka::digest_id("app", var.app_password))
    permissions = "cdrwa"
  }
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = "r"
  }
}

output "settings_version" {
  value = zkkafka_znode.settings.version
}
