#!/usr/bin/env bash
# Usage: scripts/backup.sh [DIR]   (default: $CHIRP_STATE/backups/<UTC time>; DIR must not exist yet)
# A consistent backup of Chirp (docs/operations.md, "Backups"): a dump of Neo4j's database, a copy of
# every object of the media bucket, and manifest.json (time, versions, counts, SHA-256). Redis needs
# none: everything in it is rebuilt from Neo4j. Prints DIR once the backup is whole.
#
# A short outage: Neo4j Community has no online backup (`neo4j-admin database dump` works on a stopped
# DBMS only), so this stops the Neo4j this clone started, dumps it and starts it again; meanwhile the
# API answers that the service is unavailable. A Neo4j this clone did not start is refused, not stopped.
# The bucket is copied after the dump: its objects are content-addressed and never change or go away,
# so every Media node in the dump has its object in the copy.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CHIRP_ROOT/scripts/services/neo4j.sh"

(($# <= 1)) || die "usage: scripts/backup.sh [DIR]"
dir=$(realpath -m "${1:-$CHIRP_STATE/backups/$(date -u +%Y%m%dT%H%M%SZ)}")
[[ ! -e $dir ]] || die "$dir already exists: a backup never overwrites anything; name a new directory"
# Written here and renamed to DIR once whole, so that DIR is never a partial backup.
partial=$dir.partial
neo4j_refuse_strangers
[[ -d $CHIRP_STATE/neo4j/data/databases/neo4j ]] || die "there is no Neo4j database under $CHIRP_STATE/neo4j to back up"
# MinIO answers before Neo4j stops, so that the outage is not for a backup that cannot finish.
"$CHIRP_ROOT/scripts/services.sh" start minio
ensure_uv
cd "$CHIRP_ROOT"
"${UV[@]}" sync --locked --quiet
rm -rf "$partial"
mkdir -p "$partial"

# Whatever happens once Neo4j is stopped, it is started again.
stopped=false
restart_neo4j() { if $stopped; then stopped=false && neo4j_start; fi; }
trap restart_neo4j EXIT
taken_at=$(date -u +%FT%TZ)
if pid_alive "$NEO4J_PIDFILE"; then
  log "stopping Neo4j for the dump (Community dumps only a stopped database)"
  outage_from=$SECONDS
  stopped=true
  neo4j_stop
fi
neo4j_admin database dump neo4j --to-path="$partial" || die "neo4j-admin could not dump the database; see $NEO4J_ADMIN_LOG"
if $stopped; then
  restart_neo4j
  log "Neo4j was down for $((SECONDS - outage_from)) s"
fi

media=$("${UV[@]}" run --locked python -m media.backup save "$partial") || die "copying the media bucket failed; $partial is left incomplete"
dump_bytes=$(stat -c %s "$partial/neo4j.dump")
dump_sha256=$(sha256sum "$partial/neo4j.dump" | cut -d' ' -f1)
chirp_commit=$(git -C "$CHIRP_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
cat >"$partial/manifest.json" <<EOF
{
  "format": 1,
  "takenAt": "$taken_at",
  "versions": {"chirp": "$chirp_commit", "neo4j": "$NEO4J_VERSION", "minio": "$MINIO_VERSION"},
  "neo4j": {"database": "neo4j", "dump": "neo4j.dump", "bytes": $dump_bytes, "sha256": "$dump_sha256"},
  "media": $media
}
EOF
mv "$partial" "$dir"
log "backup of $taken_at written to $dir"
echo "$dir"
