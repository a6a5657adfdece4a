#!/usr/bin/env bash
# Usage: scripts/services.sh start|stop|status [neo4j] [redis] [minio] [nginx]   (default: all)
# Installs what is missing (cached per user), starts each service natively, and waits until it answers.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for f in "$CHIRP_ROOT"/scripts/services/*.sh; do source "$f"; done

action=${1:-}
shift || true
names=("$@")
((${#names[@]})) || names=(neo4j redis minio nginx)
case $action in
  start | stop | status) ;;
  *) die "usage: scripts/services.sh start|stop|status [neo4j] [redis] [minio] [nginx]" ;;
esac

rc=0
for name in "${names[@]}"; do
  declare -F "${name}_$action" >/dev/null || die "unknown service: $name"
  "${name}_$action" || rc=1
done
exit $rc
