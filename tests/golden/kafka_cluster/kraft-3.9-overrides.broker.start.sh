#!/bin/bash
# Starts one Kafka node. Rendered by zkkafka.
# Identity: the pod ordinal, from the hostname <statefulset>-<ordinal>, selects
# /config/server-<ordinal>.properties, the complete configuration of this node.
set -euo pipefail

host="${HOSTNAME:-$(hostname)}"
ordinal="${host##*-}"
case "$ordinal" in
  ''|*[!0-9]*) echo "start.sh: cannot read a pod ordinal from hostname '$host'" >&2; exit 1 ;;
esac
rendered="/config/server-$ordinal.properties"
if [ ! -f "$rendered" ]; then
  echo "start.sh: no rendered configuration $rendered for pod $host (the ConfigMap is older than the StatefulSet?)" >&2
  exit 1
fi

data=/data
mkdir -p "$data/logs"
# The configuration this node runs: the rendered file, plus broker.rack when the pod is in a zone.
cp "$rendered" "$data/server.properties.next"
if [ -n "${KAFKA_RACK+set}" ]; then
  if [ -z "$KAFKA_RACK" ]; then
    echo "start.sh: rack_awareness is on but pod $host has no topology.kubernetes.io/zone label" >&2
    exit 1
  fi
  echo "broker.rack=$KAFKA_RACK" >> "$data/server.properties.next"
fi
mv "$data/server.properties.next" "$data/server.properties"

kafka_home="${KAFKA_HOME:-/opt/kafka}"
if [ ! -d "$kafka_home/libs" ]; then
  echo "start.sh: no Kafka installation ($kafka_home/libs) in this image" >&2
  exit 1
fi
if [ -n "${KAFKA_HEAP:-}" ]; then
  heap=(-Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP")
else
  heap=(-XX:MaxRAMPercentage=50)
fi
jvm=("${heap[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  -Dlog4j.configuration=file:/config/log4j.properties -cp "$kafka_home/libs/*")

# KRaft: format the log directory with the cluster id, only while it is empty (a node that
# already holds data keeps it; formatting again would be refused or, worse, forget it).
if [ -f /config/cluster.id ] && [ -z "$(ls -A "$data/logs")" ]; then
  java "${jvm[@]}" kafka.tools.StorageTool format \
    --cluster-id "$(cat /config/cluster.id)" --config "$data/server.properties"
fi

exec java "${jvm[@]}" kafka.Kafka "$data/server.properties"
