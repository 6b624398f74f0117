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
  # /app/blobs below is created implicitly (create_parents); let destroy remove it too.
  delete_children = true
}

# A znode only the "app" digest user may change; everyone may read it.
resource "zkkafka_znode" "config" {
  path = "${zkkafka_znode.app.path}/config"
  data = jsonencode({ feature_x = true, replicas = 3 })

  acl {
    scheme      = "digest"
    id          = provider::zkkafka::digest_id("app", var.app_password)
    permissions = "cdrwa"
  }
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = "r"
  }
}

# Binary data, and parents created on the way.
resource "zkkafka_znode" "blob" {
  path           = "/app/blobs/logo"
  data_base64    = base64encode("\u0001\u0002binary")
  create_parents = true
  # Destroy deletes /app/blobs/logo only; the parent it created stays until /app goes.
  depends_on = [zkkafka_znode.app]
}
