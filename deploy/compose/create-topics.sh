#!/usr/bin/env bash
# Topic init for the compose stack: partition counts, retention and compaction (docs/operating.md).
set -euo pipefail
BS="${KAFKA_BOOTSTRAP:-kafka:9092}"
P="${TOPIC_PARTITIONS:-6}"
RF="${TOPIC_REPLICATION_FACTOR:-1}"
K=/opt/kafka/bin/kafka-topics.sh
DAY=86400000

create() {  # name partitions config...
  local name=$1 parts=$2; shift 2
  local args=()
  for c in "$@"; do args+=(--config "$c"); done
  "$K" --bootstrap-server "$BS" --create --if-not-exists --topic "$name" \
       --partitions "$parts" --replication-factor "$RF" "${args[@]}"
}

for t in interactions.reviews interactions.tickets interactions.social interactions.calls; do
  create "$t" "$P" "retention.ms=$((7 * DAY))"
done
create churn.signals "$P" "retention.ms=$((3 * DAY))"
create churn.stage-signals "$P" "retention.ms=$((3 * DAY))"
create churn.alerts "$P" "retention.ms=$((30 * DAY))"
create churn.deadletter 1 "retention.ms=$((14 * DAY))"
create churn.alerts.webhook-deadletter 1 "retention.ms=$((14 * DAY))"
# customer profiles (account context): compacted, co-partitioned with churn.signals
create customer.profiles "$P" "cleanup.policy=compact"
# Faust creates its table changelogs (compacted) and repartition topics itself.
"$K" --bootstrap-server "$BS" --list
