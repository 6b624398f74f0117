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
  default   = "change-me"
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

# A plain znode, readable and writable by anyone (no acl blocks: the ACL is left unmanaged).
resource "zkkafka_znode" "app" {
  path = "/app"
  data = "owned by terraform"
}

# A znode only the "app" digest user may change; everyone may read it.
# The digest id is a hash that ZooKeeper shows to anyone who may read the ACL, so it need not
# be hidden in plans; nonsensitive() keeps the plan readable (the password stays sensitive).
resource "zkkafka_znode" "config" {
  path = "${zkkafka_znode.app.path}/config"
  data = jsonencode({ feature_x = true, replicas = 3 })

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

resource "zkkafka_znode" "blobs" {
  path = "${zkkafka_znode.app.path}/blobs"
}

# Binary data.
resource "zkkafka_znode" "blob" {
  path        = "${zkkafka_znode.blobs.path}/logo"
  data_base64 = base64encode("\u0001\u0002binary")
}
