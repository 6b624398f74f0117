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

variable "kafka_password" {
  type      = string
  sensitive = true
  default   = "change-me"
}

provider "zkkafka" {
  zookeeper {
    connect_string = var.zookeeper_connect
    auth {
      scheme      = "digest"
      credentials = "kafka:${var.kafka_password}"
    }
  }
}

# Lock down a Kafka chroot that Kafka itself created: the kafka user may do anything,
# everyone else may only read. Destroy puts back the ACL the znode had before.
resource "zkkafka_znode_acl" "events_root" {
  path = "/events"

  acl {
    scheme      = "digest"
    id          = nonsensitive(provider::zkkafka::digest_id("kafka", var.kafka_password))
    permissions = "cdrwa"
  }
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = "r"
  }
}
