"""Backups: scripts/backup.sh and scripts/restore.sh put back the timelines, tweets and media of the
moment of the backup.

Both stop Neo4j, so they run on a Neo4j of this module's own (its own CHIRP_STATE and port, started
by the project's scripts, as the benchmark does); Redis and MinIO are the shared ones, under this
module's own key prefix and bucket.
"""

import asyncio
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import media.client
from settings import Settings
from tests.conftest import Account, Api, drain, forget_prefix, isolated_settings
from tests.processes import ROOT, app_process, free_port, settings_env
from tests.test_media import CDN, small_png, uploaded

TWEET = """
fragment T on Tweet {
  id text createdAt editedAt likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted
  author { handle } inReplyTo { id } media { id contentType byteSize url thumbnailUrl }
}
"""
HOME = "query { homeTimeline(first: 100) { edges { node { ...T retweetOf { ...T } } } pageInfo { hasNextPage } } }"
USER = """
query($handle: String!) {
  user(handle: $handle) {
    followerCount followingCount tweetCount
    tweets(first: 100) { edges { node { ...T retweetOf { ...T } } } }
  }
}
"""
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) { deleted } }"
LIKE = "mutation($id: ID!) { like(tweetId: $id) { id } }"
RETWEET = "mutation($id: ID!) { retweet(tweetId: $id) { id } }"


@dataclass(frozen=True)
class Private:
    """This module's Neo4j, and the settings and environment of the app and scripts that use it."""

    settings: Settings
    env: dict[str, str]


def script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    bucket = f"chirp-test-{uuid.uuid4().hex[:12]}"
    settings = isolated_settings(neo4j_port=free_port(), media_bucket=bucket, cdn_base_url=f"{CDN}/{bucket}/")
    state = tmp_path_factory.mktemp("state")
    # A small Neo4j for a few dozen nodes; its JVMs (the server's and neo4j-admin's) compile with C1
    # only, which starts them in about half the time on a busy machine.
    small = {"NEO4J_HEAP": "512m", "NEO4J_PAGECACHE_MB": "256", "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}
    env = settings_env(settings, CHIRP_STATE=str(state), **small)
    started = script("services.sh", "start", "neo4j", env=env)
    try:
        assert started.returncode == 0, started.stderr
        yield Private(settings, env)
    finally:
        script("services.sh", "stop", "neo4j", env=env)
        asyncio.run(forget_prefix(settings))
        lose_bucket(settings)


def lose_bucket(settings: Settings) -> None:
    client = media.client.open_minio(settings)
    if client.bucket_exists(settings.media_bucket):
        for found in client.list_objects(settings.media_bucket, recursive=True):
            client.remove_object(settings.media_bucket, found.object_name)
        client.remove_bucket(settings.media_bucket)


def object_bytes(settings: Settings, key: str) -> bytes:
    response = media.client.open_minio(settings).get_object(settings.media_bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@dataclass(frozen=True)
class Snapshot:
    """What every user reads: their home timeline and their profile with its tweets; and the bytes
    of every medium either shows."""

    reads: dict[str, Any]
    media: dict[str, bytes]


def snapshot(api: Api, accounts: list[Account], settings: Settings) -> Snapshot:
    reads = {
        account.handle: {
            "home": api.data(HOME + TWEET, token=account.token),
            "user": api.data(USER + TWEET, {"handle": account.handle}, account.token),
        }
        for account in accounts
    }
    urls = set(media_urls(reads))
    return Snapshot(reads, {url: object_bytes(settings, url.removeprefix(settings.cdn_base_url)) for url in urls})


def media_urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("url", "thumbnailUrl") and isinstance(item, str):
                yield item
            else:
                yield from media_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from media_urls(item)


@dataclass(frozen=True)
class Backup:
    directory: Path
    before: Snapshot
    accounts: list[Account]
    replied_to: str  # b's tweet that c answered


@pytest.fixture(scope="module")
def backed_up(private: Private, tmp_path_factory: pytest.TempPathFactory) -> Backup:
    """Users, follows, tweets, a retweet, a reply, a like and a picture, fanned out and read by everyone;
    then a backup, taken while the app runs."""
    logs = tmp_path_factory.mktemp("logs")
    with (
        app_process(private.settings, logs / "app.log") as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        api = Api(client)  # type: ignore[arg-type]
        a, b, c, d = accounts = [api.sign_up() for _ in range(4)]
        for follower, followee in [(b, a), (c, a), (c, b), (d, c), (a, d), (d, a)]:
            api.follow(follower, followee)
        picture = uploaded(api, a, small_png(), "picture.png", "image/png")["id"]
        pictured = api.tweet(a, "a picture", mediaIds=[picture])
        said = [api.tweet(author, f"{author.handle} says hello") for author in accounts]
        api.tweet(c, "an answer", inReplyToId=said[1])
        api.data(RETWEET, {"id": pictured}, b.token)
        api.data(LIKE, {"id": said[0]}, d.token)
        drain(private.settings)
        before = snapshot(api, accounts, private.settings)
        assert before.media, "the picture and its thumbnail"

        taken = script("backup.sh", str(tmp_path_factory.mktemp("backups") / "one"), env=private.env)
        assert taken.returncode == 0, taken.stderr
        assert "Neo4j was down for" in taken.stderr
        # The app comes back by itself after the outage, to the same answers.
        assert snapshot(api, accounts, private.settings) == before
    return Backup(Path(taken.stdout.strip()), before, accounts, said[1])


def test_a_restore_serves_what_was_served_at_the_backup(private: Private, backed_up: Backup, tmp_path: Path) -> None:
    a, b, _, d = backed_up.accounts
    with (
        app_process(private.settings, tmp_path / "app.log") as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        api = Api(client)  # type: ignore[arg-type]
        later = uploaded(api, a, small_png((200, 10, 10)), "later.png", "image/png")["id"]
        api.tweet(a, "after the backup", mediaIds=[later])
        api.data(DELETE, {"id": backed_up.replied_to}, b.token)
        api.follow(d, b)
        drain(private.settings)
        changed = snapshot(api, backed_up.accounts, private.settings)
        assert changed.reads != backed_up.before.reads
        assert len(changed.media) > len(backed_up.before.media)

    # The API is stopped (as docs/operations.md says); MinIO loses the bucket; Redis keeps what it had.
    lose_bucket(private.settings)
    restored = script("restore.sh", str(backed_up.directory), env=private.env)
    assert restored.returncode == 0, restored.stderr
    objects = json.loads((backed_up.directory / "manifest.json").read_text())["media"]["objects"]
    assert f"holds all {objects} objects; {objects} of them put back" in restored.stderr

    with (
        app_process(private.settings, tmp_path / "app.log") as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        assert drain(private.settings) == 0
        api = Api(client)  # type: ignore[arg-type]
        assert snapshot(api, backed_up.accounts, private.settings) == backed_up.before


def neo4j_pid(private: Private) -> str:
    return (Path(private.env["CHIRP_STATE"]) / "run" / "neo4j.pid").read_text()


def first_copy(directory: Path) -> Path:
    return min(path for path in (directory / "bucket").rglob("*") if path.is_file())


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def alter_dump(directory: Path) -> None:
    flip_last_byte(directory / "neo4j.dump")


def alter_a_copy(directory: Path) -> None:
    flip_last_byte(first_copy(directory))


def lose_a_copy(directory: Path) -> None:
    first_copy(directory).unlink()


def shorten_the_index(directory: Path) -> None:
    index = json.loads((directory / "bucket.json").read_text())
    index["objects"].pop()
    (directory / "bucket.json").write_text(json.dumps(index))


# Each damage, and what the refusal says.
DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "dump altered": (alter_dump, "does not match its size and SHA-256"),
    "object copy altered": (alter_a_copy, "differs from its SHA-256"),
    "object copy lost": (lose_a_copy, "is missing"),
    "index short of the manifest": (shorten_the_index, "but manifest.json says"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_backup_that_does_not_match_its_manifest_restores_nothing(
    private: Private, backed_up: Backup, tmp_path: Path, damage: str
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(backed_up.directory, damaged)
    harm, message = DAMAGES[damage]
    harm(damaged)
    pid = neo4j_pid(private)

    refused = script("restore.sh", str(damaged), env=private.env)
    assert refused.returncode != 0
    assert message in refused.stderr
    assert "nothing was restored" in refused.stderr
    assert neo4j_pid(private) == pid, "restore.sh stopped Neo4j"


@pytest.mark.parametrize("content", [None, "{}", "not json"])
def test_a_directory_that_is_not_a_backup_is_refused(tmp_path: Path, content: str | None) -> None:
    directory = tmp_path / "not-a-backup"
    directory.mkdir()
    if content is not None:
        (directory / "manifest.json").write_text(content)
    refused = script("restore.sh", str(directory), env={**os.environ, "CHIRP_STATE": str(tmp_path / "state")})
    assert refused.returncode != 0
    assert "is not a Chirp backup" in refused.stderr


def test_a_neo4j_this_clone_did_not_start_is_not_stopped(private: Private, tmp_path: Path) -> None:
    pid = neo4j_pid(private)
    stranger = {**private.env, "CHIRP_STATE": str(tmp_path / "another-clone")}
    refused = script("backup.sh", str(tmp_path / "backup"), env=stranger)
    assert refused.returncode != 0
    assert "was not started by this clone" in refused.stderr
    assert not (tmp_path / "backup").exists()
    assert neo4j_pid(private) == pid


def restore_media(private: Private, directory: Path) -> str:
    """What `python -m media.backup restore` says it did."""
    result = subprocess.run(
        [sys.executable, "-m", "media.backup", "restore", str(directory)],
        cwd=ROOT,
        env=private.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_the_bucket_restore_puts_back_only_what_differs(private: Private, backed_up: Backup) -> None:
    index = json.loads((backed_up.directory / "bucket.json").read_text())["objects"]
    restore_media(private, backed_up.directory)
    client = media.client.open_minio(private.settings)
    client.put_object(private.settings.media_bucket, index[0]["key"], io.BytesIO(b"not the picture"), 15)

    assert f"holds all {len(index)} objects; 1 of them put back" in restore_media(private, backed_up.directory)
    assert f"holds all {len(index)} objects; 0 of them put back" in restore_media(private, backed_up.directory)
    stored = object_bytes(private.settings, index[0]["key"])
    assert hashlib.sha256(stored).hexdigest() == index[0]["sha256"]
