terraform {
  required_providers {
    zkkafka = {
      source = "zkkafka/zkkafka"
    }
  }
}

output "kafka_digest_id" {
  # "kafka:" followed by base64(sha1("kafka:secret"))
  value = provider::zkkafka::digest_id("kafka", "secret")
}
