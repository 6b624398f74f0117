# A cluster this provider created is imported by namespace/name (its cluster id comes along).
terraform import zkkafka_kafka_cluster.events data/events
