"""Chirp's configuration: every setting comes from an environment variable, read here only."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults match scripts/env.sh, so a developer machine needs no configuration."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    neo4j_host: str = "127.0.0.1"
    neo4j_port: int = 7687
    neo4j_user: str = "neo4j"
    neo4j_password: str = "chirp-dev-password"

    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_password: str = ""
    redis_db: int = 0

    minio_host: str = "127.0.0.1"
    minio_port: int = 9000
    minio_root_user: str = "chirp"
    minio_root_password: str = "chirp-dev-secret"
    minio_secure: bool = False
    media_bucket: str = "chirp-media"
    # Media URLs are cdn_base_url + the object's key. The default is the local caching edge
    # (nginx in front of MinIO, scripts/services/nginx.sh), which serves the bucket by its path.
    cdn_base_url: str = "http://127.0.0.1:8080/chirp-media/"
    # Limits on what uploadMedia accepts (bytes, and pixels for images).
    max_image_bytes: int = 5 * 1024 * 1024
    max_gif_bytes: int = 15 * 1024 * 1024
    max_video_bytes: int = 512 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    thumbnail_size: int = 480
    # How long a presigned upload URL stays valid, and how long an upload never completed stays.
    presigned_upload_seconds: int = 900
    incoming_expiry_days: int = 1

    # Signs the bearer tokens: set your own in every deployment.
    jwt_secret: str = "chirp-dev-jwt-secret-change-me-0123456789"
    jwt_ttl_seconds: int = 7 * 24 * 3600
    # argon2id cost (the library's defaults): about 0.2 s of one core per sign-up or log-in here.
    password_time_cost: int = 3
    password_memory_kib: int = 65_536
    # This process's Snowflake worker id (0..1023); distinct processes need distinct ids.
    # By default it comes from the process id.
    worker_id: int | None = None
    max_page_size: int = 100

    # Home timelines (feeds/). Authors with at least celebrity_threshold followers are pulled at
    # read time instead of pushed; a cached timeline keeps timeline_cap entries and expires after
    # timeline_idle_days without a read (its owner then counts as inactive and gets no pushes).
    redis_prefix: str = "chirp:"
    # "hybrid" (the cached timelines) or "pull" (reads from Neo4j only, no Redis cache on the way:
    # the engine before the hybrid one, and the baseline the benchmark compares it with).
    timeline_engine: Literal["hybrid", "pull"] = "hybrid"
    celebrity_threshold: int = 10_000
    timeline_cap: int = 800
    timeline_idle_days: int = 30
    # How long a fan-out event may stay unacknowledged before another worker claims it.
    fanout_claim_idle_ms: int = 30_000
    fanout_batch_size: int = 1000
    record_cache_ttl_seconds: int = 3600
    # What each viewer liked and retweeted among tweets of the last viewer_acts_days, cached for
    # viewer_acts_ttl_seconds; older tweets' flags are asked of Neo4j.
    viewer_acts_days: int = 7
    viewer_acts_ttl_seconds: int = 86_400

    # Live updates (subscriptions): how many updates may wait for one subscriber before the
    # subscription is ended as fallen behind (feeds/live.py).
    live_queue_size: int = 256

    # How long /readyz waits for each service before calling it down.
    readiness_timeout_seconds: float = 2.0

    # GraphiQL's scripts and styles, served at /graphiql-assets; scripts/graphiql.sh fetches them into
    # the per-user cache (CHIRP_CACHE, as in scripts/env.sh).
    graphiql_assets_dir: Path = Field(default_factory=lambda: chirp_cache() / "graphiql-3.8.3")

    @property
    def neo4j_uri(self) -> str:
        return f"neo4j://{self.neo4j_host}:{self.neo4j_port}"

    @property
    def minio_endpoint(self) -> str:
        return f"{self.minio_host}:{self.minio_port}"


def chirp_cache() -> Path:
    """CHIRP_CACHE, with scripts/env.sh's default: the per-user folder of downloads and builds."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get("CHIRP_CACHE") or Path(cache_home) / "chirp")
