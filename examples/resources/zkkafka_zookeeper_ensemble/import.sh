# An ensemble this provider created is imported by namespace/name.
terraform import zkkafka_zookeeper_ensemble.main data/zk
