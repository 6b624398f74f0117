# A znode is imported by its path.
terraform import zkkafka_znode.config /app/config
