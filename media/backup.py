"""The media bucket's part of a backup: a copy of every published object, and a restore that checks it.

Published objects are content-addressed and never change or go away, so a copy taken after a Neo4j
dump holds the object of every Media node in that dump. Uploads still under incoming/ are left out:
no Media node refers to one yet, and MinIO expires them within a day.

In a backup directory (scripts/backup.sh writes it): `bucket/<key>` for each object, `bucket.json`
listing each one's size, SHA-256 and content type, and the "media" part of `manifest.json` (counts).
`python -m media.backup save DIR | check DIR | restore DIR` runs with the environment's settings.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import urllib3
from minio import Minio
from minio.error import S3Error

from media.client import MISSING, PUBLISHED, ensure_bucket, open_minio
from media.ingest import file_sha256
from media.storage import IMMUTABLE
from settings import Settings

logger = logging.getLogger("chirp.backup")

INDEX = "bucket.json"
OBJECTS = "bucket"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup that does not match its manifest, or an object that did not restore as saved."""


@dataclass(frozen=True)
class Entry:
    key: str
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class Summary:
    """The "media" part of manifest.json."""

    bucket: str
    objects: int
    bytes: int

    def __str__(self) -> str:
        return f"{self.objects} objects ({self.bytes} bytes) of bucket {self.bucket}"


def object_path(directory: Path, key: str) -> Path:
    """Where an object's copy lives; a key that would lead out of the directory is refused."""
    parts = PurePosixPath(key).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise BackupError(f"object key {key!r} cannot be a file name")
    return directory / OBJECTS / key


def save(client: Minio, bucket: str, directory: Path) -> Summary:
    """Copies every published object into the directory, and writes their index."""
    entries = [
        save_object(client, bucket, found.object_name, directory)
        for found in client.list_objects(bucket, prefix=PUBLISHED, recursive=True)
    ]
    index = {"bucket": bucket, "objects": [asdict(entry) for entry in entries]}
    (directory / INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return Summary(bucket, len(entries), sum(entry.size for entry in entries))


def save_object(client: Minio, bucket: str, key: str, directory: Path) -> Entry:
    path = object_path(directory, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    response = client.get_object(bucket, key)
    try:
        with path.open("wb") as out:
            for chunk in response.stream(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
    finally:
        response.close()
        response.release_conn()
    return Entry(key, size, digest.hexdigest(), content_type)


def check(directory: Path) -> list[Entry]:
    """The backup's entries, once every copy matches the index and the index the manifest's counts:
    a damaged or partial backup is refused before anything is restored from it."""
    try:
        expected = Summary(**json.loads((directory / MANIFEST).read_text())["media"])
        index = json.loads((directory / INDEX).read_text())
        entries = [Entry(**entry) for entry in index["objects"]]
        found = Summary(index["bucket"], len(entries), sum(entry.size for entry in entries))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{directory} holds no readable media manifest and index: {error!r}") from error
    if found != expected:
        raise BackupError(f"{INDEX} lists {found}, but {MANIFEST} says {expected}")
    for entry in entries:
        path = object_path(directory, entry.key)
        if not path.is_file():
            raise BackupError(f"the copy of {entry.key} is missing")
        if path.stat().st_size != entry.size or file_sha256(path) != entry.sha256:
            raise BackupError(f"the copy of {entry.key} differs from its SHA-256 in {INDEX}")
    return entries


def stored(client: Minio, bucket: str, key: str) -> tuple[str, str] | None:
    """(SHA-256, content type) of the object in the bucket; None when there is none."""
    digest = hashlib.sha256()
    try:
        response = client.get_object(bucket, key)
    except S3Error as error:
        if error.code in MISSING:
            return None
        raise
    try:
        for chunk in response.stream(CHUNK):
            digest.update(chunk)
        return digest.hexdigest(), response.headers.get("Content-Type", "")
    finally:
        response.close()
        response.release_conn()


def restore(client: Minio, bucket: str, directory: Path, entries: list[Entry]) -> int:
    """Puts back each object the bucket lacks or holds with other bytes, and reads it back to be
    sure; returns how many it put. Objects not in the backup stay (nothing in the restored Neo4j
    refers to them). Running it again puts nothing."""
    written = 0
    for entry in entries:
        if stored(client, bucket, entry.key) == (entry.sha256, entry.content_type):
            continue
        with object_path(directory, entry.key).open("rb") as file:
            client.put_object(
                bucket,
                entry.key,
                file,
                entry.size,
                content_type=entry.content_type,
                metadata={"Cache-Control": IMMUTABLE},
            )
        if stored(client, bucket, entry.key) != (entry.sha256, entry.content_type):
            raise BackupError(f"{entry.key} does not read back from bucket {bucket} as it was saved")
        written += 1
    return written


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[chirp] %(message)s")
    parser = argparse.ArgumentParser(prog="python -m media.backup", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["save", "check", "restore"])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    settings = Settings()
    client = open_minio(settings)
    try:
        run(args.action, args.directory, settings, client)
    except (BackupError, S3Error, urllib3.exceptions.HTTPError, OSError) as error:
        sys.exit(f"[chirp] media backup: {error}")


def run(action: str, directory: Path, settings: Settings, client: Minio) -> None:
    """save prints the manifest's "media" part on stdout; check and restore say what they did."""
    bucket = settings.media_bucket
    if action == "save":
        summary = save(client, bucket, directory)
        logger.info("copied %d objects (%d bytes) of bucket %s", summary.objects, summary.bytes, bucket)
        print(json.dumps(asdict(summary)))
        return
    entries = check(directory)
    if action == "check":
        logger.info("the media copy in %s matches its manifest (%d objects)", directory, len(entries))
    else:
        asyncio.run(ensure_bucket(client, bucket, settings.incoming_expiry_days))
        written = restore(client, bucket, directory, entries)
        logger.info("bucket %s holds all %d objects; %d of them put back", bucket, len(entries), written)


if __name__ == "__main__":
    main()
