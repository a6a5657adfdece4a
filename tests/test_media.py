"""Media uploads end to end: the multipart route and the presigned one, against the real MinIO,
Neo4j and the nginx edge (scripts/services/nginx.sh)."""

import asyncio
import io
import json
import os
import struct
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from minio import Minio
from neo4j import AsyncDriver
from PIL import Image
from starlette.testclient import TestClient

import media.client
from app import create_app
from settings import Settings
from tests.conftest import Account, Api, forget_prefix, isolated_settings

CDN = f"http://{os.environ.get('CDN_HOST', '127.0.0.1')}:{os.environ.get('CDN_PORT', '8080')}"
MEDIA_FIELDS = "id kind contentType byteSize width height altText url thumbnailUrl"
UPLOAD = f"mutation($file: Upload!, $alt: String) {{ uploadMedia(file: $file, altText: $alt) {{ {MEDIA_FIELDS} }} }}"
ORIENTATION = 0x0112
GPS_IFD = 0x8825


@pytest.fixture
def settings() -> Iterator[Settings]:
    """A bucket of this test's own, served by the edge under its own path."""
    bucket = f"chirp-test-{uuid.uuid4().hex[:12]}"
    test_settings = isolated_settings(media_bucket=bucket, cdn_base_url=f"{CDN}/{bucket}/")
    yield test_settings
    asyncio.run(forget_prefix(test_settings))
    client = media.client.open_minio(test_settings)
    if client.bucket_exists(bucket):  # not when the test ran without MinIO
        for found in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, found.object_name)
        client.remove_bucket(bucket)


def objects(minio: Minio, settings: Settings, prefix: str = "") -> list[str]:
    return sorted(found.object_name for found in minio.list_objects(settings.media_bucket, prefix, recursive=True))


def upload(
    api: Api, account: Account, data: bytes, filename: str, content_type: str, alt: str | None = None
) -> dict[str, Any]:
    response = api.post(
        UPLOAD, {"file": None, "alt": alt}, account.token, {"variables.file": (filename, data, content_type)}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def uploaded(
    api: Api, account: Account, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
) -> dict[str, Any]:
    body = upload(api, account, data, filename, content_type)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadMedia"]
    return result


def error_code(body: dict[str, Any]) -> str:
    assert len(body.get("errors") or []) == 1, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def half_red_half_blue(width: int = 64, height: int = 32) -> Image.Image:
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def jpeg_with_gps() -> bytes:
    """Stored rotated: EXIF orientation 6 says 'turn 90 degrees clockwise to show'; and GPS tags."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    buffer = io.BytesIO()
    half_red_half_blue().save(buffer, "JPEG", quality=95, exif=exif, comment=b"secret comment")
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def small_png(colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    return png_bytes(Image.new("RGB", (40, 30), colour))


def gif_bytes() -> bytes:
    frames = [Image.new("P", (20, 20), index) for index in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_a_jpeg_is_stored_clean_oriented_and_served_by_the_edge(api: Api, minio: Minio, settings: Settings) -> None:
    alice = api.sign_up()
    original = jpeg_with_gps()
    assert b"Exif" in original
    assert b"secret comment" in original

    result = upload(api, alice, original, "holiday.png", "image/png", alt="a flag")
    assert "errors" not in result, result
    media = result["data"]["uploadMedia"]
    assert (media["kind"], media["contentType"], media["altText"]) == ("IMAGE", "image/jpeg", "a flag")
    assert (media["width"], media["height"]) == (32, 64)  # turned upright: the 64x32 image now stands
    key = media["url"].removeprefix(settings.cdn_base_url)
    assert key.startswith("media/")
    assert key.endswith(".jpg")

    stored = minio.get_object(settings.media_bucket, key).read()
    assert media["byteSize"] == len(stored)
    assert b"Exif" not in stored
    assert b"secret comment" not in stored
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif()
    assert image.size == (32, 64)
    # Turned clockwise, the left (red) half is now on top and the right (blue) half below.
    red, _, blue = image.convert("RGB").getpixel((16, 8))  # type: ignore[misc]
    assert red > 200
    assert blue < 60
    red, _, blue = image.convert("RGB").getpixel((16, 56))  # type: ignore[misc]
    assert blue > 200
    assert red < 60

    first = httpx.get(media["url"])
    second = httpx.get(media["url"])
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == stored
    assert first.headers["x-cache-status"] == "MISS"
    assert second.headers["x-cache-status"] == "HIT"
    assert "immutable" in second.headers["cache-control"]

    thumbnail = httpx.get(media["thumbnailUrl"])
    assert thumbnail.status_code == 200
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) <= settings.thumbnail_size


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("image.png", small_png())
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring a huge image, with a few bytes of data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def noise_png(side: int) -> bytes:
    return png_bytes(Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)))


BAD_FILES = {
    "zero bytes": (b"", "empty.png", "image/png"),
    "text named .png": (b"just some text, not an image\n" * 10, "notes.png", "image/png"),
    "zip declared as png": (zip_bytes(), "image.png", "image/png"),
    "truncated png": (noise_png(64)[:600], "cut.png", "image/png"),
    "png declaring 100000x100000": (png_declaring(100_000, 100_000), "bomb.png", "image/png"),
    "image over the size limit": (noise_png(1400), "big.png", "image/png"),  # about 5.9 MB of noise
    "unsupported type (BMP)": (b"BM" + bytes(200), "picture.bmp", "image/bmp"),
    "unsupported type (PDF)": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(100), "doc.pdf", "application/pdf"),
}


@pytest.mark.parametrize("name", BAD_FILES)
async def test_bad_files_are_refused_and_leave_nothing(
    name: str, api: Api, minio: Minio, settings: Settings, neo4j: AsyncDriver
) -> None:
    data, filename, content_type = BAD_FILES[name]
    alice = api.sign_up()
    assert error_code(upload(api, alice, data, filename, content_type)) == "BAD_USER_INPUT"
    assert objects(minio, settings) == []
    assert await media_count(neo4j, alice) == 0


async def media_count(neo4j: AsyncDriver, account: Account) -> int:
    """Media nodes the account uploaded, counted straight in Neo4j."""
    records, _, _ = await neo4j.execute_query(
        "MATCH (:User {handle: $handle})-[:UPLOADED]->(m:Media) RETURN count(m) AS n", handle=account.handle
    )
    count: int = records[0]["n"]
    return count


CREATE_WITH_MEDIA = """mutation($input: CreateTweetInput!) {
  createTweet(input: $input) { id text media { id kind url } }
}"""


def test_tweets_carry_their_authors_media_in_order(api: Api) -> None:
    alice = api.sign_up()
    images = [uploaded(api, alice, small_png((index * 40, 0, 0)), "a.png", "image/png")["id"] for index in range(4)]
    tweet = api.data(CREATE_WITH_MEDIA, {"input": {"text": "four", "mediaIds": images}}, alice.token)["createTweet"]
    assert [media["id"] for media in tweet["media"]] == images
    shown = api.data("query($id: ID!) { tweet(id: $id) { media { id } } }", {"id": tweet["id"]})["tweet"]
    assert [media["id"] for media in shown["media"]] == images
    node = api.data("query($id: ID!) { node(id: $id) { ... on Media { kind url } } }", {"id": images[0]})["node"]
    assert node["kind"] == "IMAGE"


def test_a_tweet_with_media_may_have_no_text(api: Api) -> None:
    alice = api.sign_up()
    image = uploaded(api, alice, small_png(), "a.png", "image/png")["id"]
    tweet = api.data(CREATE_WITH_MEDIA, {"input": {"text": "", "mediaIds": [image]}}, alice.token)["createTweet"]
    assert tweet["text"] == ""
    assert len(tweet["media"]) == 1
    assert api.error_code(CREATE_WITH_MEDIA, {"input": {"text": "", "mediaIds": []}}, alice.token) == "BAD_USER_INPUT"


async def test_attaching_media_is_checked(api: Api, neo4j: AsyncDriver) -> None:
    alice, mallory = api.sign_up(), api.sign_up()
    images = [uploaded(api, alice, small_png((0, index * 40, 0)), "a.png", "image/png")["id"] for index in range(5)]
    gif = uploaded(api, alice, gif_bytes(), "a.gif", "image/gif")
    assert gif["kind"] == "GIF"

    def refused(account: Account, media_ids: list[str]) -> str:
        return api.error_code(CREATE_WITH_MEDIA, {"input": {"text": "hi", "mediaIds": media_ids}}, account.token)

    assert refused(mallory, images[:1]) == "FORBIDDEN"
    assert refused(alice, images) == "BAD_USER_INPUT"  # a fifth image
    assert refused(alice, [gif["id"], images[0]]) == "BAD_USER_INPUT"
    assert refused(alice, [images[0], images[0]]) == "BAD_USER_INPUT"
    assert refused(alice, ["TWVkaWE6MQ"]) == "NOT_FOUND"  # Media:1
    records, _, _ = await neo4j.execute_query(
        "MATCH (u:User)-[:POSTED]->(t:Tweet) WHERE u.handle IN $handles RETURN count(t) AS n",
        handles=[alice.handle, mallory.handle],
    )
    assert records[0]["n"] == 0


def test_an_avatar_is_an_image_of_ones_own(api: Api, settings: Settings) -> None:
    alice, mallory = api.sign_up(), api.sign_up()
    image = uploaded(api, alice, small_png(), "me.png", "image/png")
    gif = uploaded(api, alice, gif_bytes(), "me.gif", "image/gif")
    update = "mutation($id: ID) { updateProfile(input: {avatarMediaId: $id}) { avatar { id url } } }"
    assert api.error_code(update, {"id": image["id"]}, mallory.token) == "FORBIDDEN"
    assert api.error_code(update, {"id": gif["id"]}, alice.token) == "BAD_USER_INPUT"
    avatar = api.data(update, {"id": image["id"]}, alice.token)["updateProfile"]["avatar"]
    assert avatar == {"id": image["id"], "url": image["url"]}
    shown = api.data("query($h: String!) { user(handle: $h) { avatar { id } } }", {"h": alice.handle})["user"]
    assert shown["avatar"]["id"] == image["id"]


def test_the_same_image_is_stored_once(api: Api, minio: Minio, settings: Settings) -> None:
    alice, bob = api.sign_up(), api.sign_up()
    data = jpeg_with_gps()
    first = uploaded(api, alice, data)
    second = uploaded(api, bob, data)
    assert first["id"] != second["id"]
    assert (first["url"], first["thumbnailUrl"]) == (second["url"], second["thumbnailUrl"])
    assert len(objects(minio, settings)) == 2  # the cleaned image and its thumbnail


START = "mutation { createMediaUpload { uploadId url fields { name value } expiresAt maxByteSize } }"
COMPLETE = f'mutation($id: ID!) {{ completeMediaUpload(uploadId: $id, altText: "big") {{ {MEDIA_FIELDS} }} }}'


def post_form(ticket: dict[str, Any], data: bytes) -> httpx.Response:
    """What a browser does with a createMediaUpload ticket: its form fields, then the file."""
    fields = {field["name"]: field["value"] for field in ticket["fields"]}
    return httpx.post(ticket["url"], data=fields, files={"file": ("upload", data)})


def test_the_presigned_path_checks_like_the_other(api: Api, minio: Minio, settings: Settings) -> None:
    alice, mallory = api.sign_up(), api.sign_up()
    ticket = api.data(START, token=alice.token)["createMediaUpload"]
    assert ticket["maxByteSize"] == settings.max_video_bytes
    data = jpeg_with_gps()
    assert post_form(ticket, data).status_code == 204
    assert objects(minio, settings, "incoming/") != []

    assert api.error_code(COMPLETE, {"id": ticket["uploadId"]}, mallory.token) == "NOT_FOUND"
    media = api.data(COMPLETE, {"id": ticket["uploadId"]}, alice.token)["completeMediaUpload"]
    assert (media["kind"], media["altText"], media["width"], media["height"]) == ("IMAGE", "big", 32, 64)
    assert (
        httpx.get(media["url"]).content
        == minio.get_object(settings.media_bucket, media["url"].removeprefix(settings.cdn_base_url)).read()
    )
    assert objects(minio, settings, "incoming/") == []
    assert api.error_code(COMPLETE, {"id": ticket["uploadId"]}, alice.token) == "NOT_FOUND"  # used up

    refused = api.data(START, token=alice.token)["createMediaUpload"]
    assert post_form(refused, zip_bytes()).status_code == 204
    assert api.error_code(COMPLETE, {"id": refused["uploadId"]}, alice.token) == "BAD_USER_INPUT"
    assert objects(minio, settings, "incoming/") == []
    assert len(objects(minio, settings)) == 2  # only the first upload's image and thumbnail


def test_the_presigned_url_does_not_serve_pending_uploads(api: Api, settings: Settings) -> None:
    alice = api.sign_up()
    ticket = api.data(START, token=alice.token)["createMediaUpload"]
    assert post_form(ticket, small_png()).status_code == 204
    key = next(field["value"] for field in ticket["fields"] if field["name"] == "key")
    assert key.startswith("incoming/")
    assert httpx.get(f"{settings.cdn_base_url}{key}").status_code != 200


def test_uploads_need_a_viewer(api: Api) -> None:
    operations = {"query": UPLOAD, "variables": {"file": None}}
    response = api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("a.png", small_png(), "image/png")},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_without_minio_uploads_are_unavailable_and_text_still_posts(settings: Settings) -> None:
    closed_port = 1  # nothing listens there
    down = settings.model_copy(update={"minio_port": closed_port})
    with TestClient(create_app(down)) as client:
        api = Api(client)
        alice = api.sign_up()
        assert error_code(upload(api, alice, small_png(), "a.png", "image/png")) == "SERVICE_UNAVAILABLE"
        assert api.error_code(START, token=alice.token) == "SERVICE_UNAVAILABLE"
        tweet = api.data('mutation { createTweet(input: {text: "still here"}) { text } }', token=alice.token)
        assert tweet["createTweet"]["text"] == "still here"


def test_minio_refuses_a_presigned_upload_over_the_limit(settings: Settings, minio: Minio) -> None:
    """The form's policy carries the size limit, so MinIO itself refuses a larger file, and
    another key than the ticket's."""
    small = settings.model_copy(update={"max_image_bytes": 1000, "max_gif_bytes": 1000, "max_video_bytes": 1000})
    with TestClient(create_app(small)) as client:
        api = Api(client)
        alice = api.sign_up()
        ticket = api.data(START, token=alice.token)["createMediaUpload"]
        assert ticket["maxByteSize"] == 1000
        too_big = post_form(ticket, b"\0" * 1001)
        assert too_big.status_code == 400
        assert "EntityTooLarge" in too_big.text
        fields = {field["name"]: field["value"] for field in ticket["fields"]} | {"key": "media/forged.png"}
        forged = httpx.post(ticket["url"], data=fields, files={"file": ("upload", small_png())})
        assert forged.status_code == 403
        assert objects(minio, small) == []
        assert post_form(ticket, small_png()).status_code == 204


def test_a_viewer_holds_a_bounded_number_of_open_tickets(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_open_upload_tickets": 2})
    with TestClient(create_app(capped)) as client:
        api = Api(client)
        alice, bob = api.sign_up(), api.sign_up()
        first = api.data(START, token=alice.token)["createMediaUpload"]
        api.data(START, token=alice.token)
        body = api.execute(START, token=alice.token)
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert body["errors"][0]["extensions"]["retryAfter"] > 0
        api.data(START, token=bob.token)  # the cap is per viewer
        assert post_form(first, small_png()).status_code == 204
        api.data(COMPLETE, {"id": first["uploadId"]}, alice.token)  # completing closes the ticket
        api.data(START, token=alice.token)
