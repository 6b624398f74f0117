# The ACL of a znode is imported by the znode's path. The ACL found at import is the one
# restored on destroy.
terraform import zkkafka_znode_acl.events_root /events
