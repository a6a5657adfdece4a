"""Recognising uploads by their bytes, and cleaning images: no metadata out, upright, bounded, thumbnailed.

Every file is built here with Pillow or by hand; nothing touches MinIO, Neo4j or Redis.
"""

import io
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageFile, ImageSequence, PngImagePlugin

from errors import BadInput
from media import images, kinds
from media.images import CleanImage, clean_image
from media.kinds import Format, MediaKind, byte_limit, sniff
from settings import Settings

DEFAULTS = Settings()
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def encode(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=pillow_format, **options)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def clean(tmp_path: Path, data: bytes, settings: Settings = DEFAULTS, name: str = "upload") -> CleanImage:
    """What the upload flow does: sniff the first bytes, then clean as that format."""
    path = write(tmp_path, name, data)
    found = sniff(data[:4096])
    assert found is not None
    return clean_image(path, found, settings)


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """An image that compresses badly, so that cutting the file short cuts into the pixel data."""
    return Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: where the colours end up tells how the image was turned."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def near(actual: object, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's segments, from SOI up to the start of the scan (SOS)."""
    markers, position = [], 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker, length = data[position + 1], struct.unpack_from(">H", data, position + 2)[0]
        markers.append(marker)
        if marker == 0xDA:
            break
        position += 2 + length
    return markers


def alpha(image: Image.Image, xy: tuple[int, int]) -> int:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value[3]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels and carries a few bytes of image data."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return kinds.PNG_SIGNATURE + ihdr + idat + png_chunk(b"IEND", b"")


def iso_bmff(major: bytes, *compatible: bytes) -> bytes:
    """An ftyp box then the start of an mdat box, as a video's first bytes."""
    body = major + struct.pack(">I", 0x200) + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + struct.pack(">I", 1024) + b"mdat" + bytes(40)


def ebml_header(doctype: bytes) -> bytes:
    """An EBML header (as mkvmerge and ffmpeg write it) then the start of a Segment."""
    children = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        + b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        + b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        + b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        + b"\x42\x82"
        + bytes([0x80 | len(doctype)])
        + doctype  # DocType
        + b"\x42\x87\x81\x04"  # DocTypeVersion 4
        + b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    return kinds.EBML_MAGIC + bytes([0x80 | len(children)]) + children + b"\x18\x53\x80\x67\x01" + bytes(40)


# Recognising a file


@pytest.mark.parametrize(
    ("pillow_format", "options", "expected"),
    [
        ("JPEG", {}, kinds.JPEG),
        ("PNG", {}, kinds.PNG),
        ("WEBP", {}, kinds.WEBP),
        ("WEBP", {"lossless": True}, kinds.WEBP),
        ("GIF", {}, kinds.GIF),
    ],
)
def test_each_accepted_image_format_is_recognised(
    pillow_format: str, options: dict[str, object], expected: Format
) -> None:
    data = encode(halves(40, 20), pillow_format, **options)
    assert sniff(data[:64]) == expected
    assert sniff(data) == expected


def test_the_formats_are_what_the_upload_flow_expects() -> None:
    assert (kinds.JPEG.kind, kinds.JPEG.content_type, kinds.JPEG.extension) == (MediaKind.IMAGE, "image/jpeg", "jpg")
    assert (kinds.PNG.content_type, kinds.PNG.extension) == ("image/png", "png")
    assert (kinds.WEBP.content_type, kinds.WEBP.extension) == ("image/webp", "webp")
    assert (kinds.GIF.kind, kinds.GIF.content_type, kinds.GIF.extension) == (MediaKind.GIF, "image/gif", "gif")
    assert (kinds.MP4.kind, kinds.MP4.content_type, kinds.MP4.extension) == (MediaKind.VIDEO, "video/mp4", "mp4")
    assert (kinds.MOV.content_type, kinds.MOV.extension) == ("video/quicktime", "mov")
    assert (kinds.WEBM.content_type, kinds.WEBM.extension) == ("video/webm", "webm")


@pytest.mark.parametrize("brand", [b"isom", b"iso2", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"3gp5"])
def test_mp4_is_recognised_by_its_ftyp_brand(brand: bytes) -> None:
    assert sniff(iso_bmff(brand, b"isom", b"mp41")) == kinds.MP4


def test_mov_is_recognised_by_the_quicktime_brand() -> None:
    assert sniff(iso_bmff(b"qt  ", b"qt  ")) == kinds.MOV


def test_webm_is_recognised_by_its_ebml_doctype() -> None:
    assert sniff(ebml_header(b"webm")) == kinds.WEBM
    assert sniff(ebml_header(b"webm")[:64]) == kinds.WEBM


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xd8", id="two bytes of a JPEG"),
        pytest.param(b"Hello, this is a text file.\nIt says it is a photo.\n", id="text"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(54), id="zip"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", id="pdf"),
        pytest.param(encode(halves(8, 8), "BMP"), id="bmp"),
        pytest.param(encode(halves(8, 8), "TIFF"), id="tiff"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
        pytest.param(b"<!DOCTYPE html><html><body>not an image</body></html>", id="html"),
        pytest.param(iso_bmff(b"heic", b"mif1", b"heic"), id="heic"),
        pytest.param(iso_bmff(b"avif", b"mif1", b"avif"), id="avif"),
        pytest.param(iso_bmff(b"M4A ", b"isom", b"mp42"), id="m4a audio"),
        pytest.param(b"\x00\x00\x00\x08ftyp", id="ftyp box cut short"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(48), id="wav"),
        pytest.param(b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(48), id="avi"),
        pytest.param(ebml_header(b"matroska"), id="matroska"),
        pytest.param(kinds.EBML_MAGIC + b"\x9f\x42\x86", id="ebml cut short"),
        pytest.param(kinds.EBML_MAGIC + b"\x00" * 60, id="ebml with a bad size"),
        pytest.param(b"\x1f\x8b\x08\x00" + bytes(60), id="gzip"),
    ],
)
def test_anything_else_is_not_recognised(head: bytes) -> None:
    assert sniff(head) is None


def test_only_the_bytes_count_not_the_name(tmp_path: Path) -> None:
    """A PNG named photo.jpg (and declared image/jpeg by its client) is a PNG, and stays one."""
    data = encode(halves(40, 20), "PNG")
    path = write(tmp_path, "photo.jpg", data)
    found = sniff(path.read_bytes()[:4096])
    assert found == kinds.PNG
    cleaned = clean_image(path, found, DEFAULTS)
    assert (cleaned.full.content_type, cleaned.full.extension) == ("image/png", "png")
    assert opened(cleaned.full.data).format == "PNG"


def test_a_script_named_like_an_image_is_not_one(tmp_path: Path) -> None:
    path = write(tmp_path, "cat.gif", b"#!/bin/sh\nrm -rf /\n")
    assert sniff(path.read_bytes()) is None


def test_byte_limits_follow_the_settings() -> None:
    settings = Settings(max_image_bytes=1, max_gif_bytes=2, max_video_bytes=3)
    assert byte_limit(MediaKind.IMAGE, settings) == 1
    assert byte_limit(MediaKind.GIF, settings) == 2
    assert byte_limit(MediaKind.VIDEO, settings) == 3


# Metadata is stripped


def photo_with_gps() -> bytes:
    """A 200x100 JPEG, red left and blue right, whose EXIF says: turn 90 degrees clockwise to show
    (orientation 6), and where it was taken (GPS)."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "CanaryMaker"  # Make
    exif[0x0110] = "CanaryPhone 15"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = (2.0, 17.0, 40.0)  # GPSLongitude
    gps[18] = "WGS-84-CANARY"  # GPSMapDatum
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>CanaryXmpLocation</rdf:RDF></x:xmpmeta>'
    data = encode(halves(200, 100), "JPEG", exif=exif, xmp=xmp, comment=b"CanaryComment", quality=95)
    source = opened(data)
    assert source.getexif()[0x0112] == 6
    assert source.getexif().get_ifd(0x8825)[18] == "WGS-84-CANARY"
    return data


def assert_no_metadata(data: bytes) -> None:
    image = opened(data)
    assert not image.getexif()
    assert not set(image.info) & {"exif", "xmp", "comment", "XML:com.adobe.xmp", "Raw profile type exif"}
    for canary in (b"Exif", b"Canary", b"WGS-84", b"http://ns.adobe.com/xap", b"xmpmeta", b"tEXt", b"zTXt", b"iTXt"):
        assert canary not in data


def test_a_photo_loses_its_exif_and_gps_and_is_turned_upright(tmp_path: Path) -> None:
    cleaned = clean(tmp_path, photo_with_gps())
    for rendition in (cleaned.full, cleaned.thumbnail):
        assert (rendition.content_type, rendition.extension) == ("image/jpeg", "jpg")
        assert_no_metadata(rendition.data)
        assert 0xE1 not in jpeg_markers(rendition.data)  # APP1: EXIF and XMP
        image = opened(rendition.data)
        assert image.format == "JPEG"
        # Turned clockwise: the 200x100 image now stands 100x200, its left (red) half on top.
        assert image.size == (100, 200) == (rendition.width, rendition.height)
        assert near(image.getpixel((50, 40)), RED)
        assert near(image.getpixel((50, 160)), BLUE)


def test_a_jpeg_comment_is_dropped(tmp_path: Path) -> None:
    data = encode(halves(60, 40), "JPEG", comment=b"CanaryComment: taken at 12 Main Street")
    assert opened(data).info["comment"].startswith(b"CanaryComment")
    assert 0xFE in jpeg_markers(data)
    cleaned = clean(tmp_path, data)
    assert_no_metadata(cleaned.full.data)
    for rendition in (cleaned.full, cleaned.thumbnail):
        markers = jpeg_markers(rendition.data)
        assert 0xFE not in markers  # COM
        assert not {0xE1, 0xED} & set(markers)  # APP1 (EXIF, XMP), APP13 (Photoshop IPTC)


def test_png_text_chunks_and_exif_are_dropped(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "CanaryText")
    info.add_text("Author", "CanaryAuthor", zip=True)
    info.add_itxt("Description", "CanaryInternational", lang="en")
    exif = Image.Exif()
    exif[0x010F] = "CanaryMaker"
    data = encode(halves(60, 40), "PNG", pnginfo=info, exif=exif)
    source = opened(data)
    assert isinstance(source, PngImagePlugin.PngImageFile)
    assert source.text["Comment"] == "CanaryText"
    cleaned = clean(tmp_path, data)
    for rendition in (cleaned.full, cleaned.thumbnail):
        assert_no_metadata(rendition.data)
        image = opened(rendition.data)
        assert isinstance(image, PngImagePlugin.PngImageFile)
        assert image.text == {}
        assert b"eXIf" not in rendition.data
    assert opened(cleaned.full.data).tobytes() == halves(60, 40).tobytes()  # PNG stays lossless


def test_webp_exif_and_xmp_are_dropped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "CanaryMaker"
    data = encode(halves(60, 40), "WEBP", exif=exif, xmp=b"<x:xmpmeta>CanaryXmp</x:xmpmeta>")
    assert b"Canary" in data
    cleaned = clean(tmp_path, data)
    for rendition in (cleaned.full, cleaned.thumbnail):
        assert (rendition.content_type, rendition.extension) == ("image/webp", "webp")
        assert_no_metadata(rendition.data)
        assert b"EXIF" not in rendition.data
        assert b"XMP " not in rendition.data


def test_a_webp_with_exif_orientation_is_turned_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    cleaned = clean(tmp_path, encode(halves(200, 100), "WEBP", exif=exif, lossless=True))
    image = opened(cleaned.full.data)
    assert image.size == (100, 200)
    assert image.getpixel((50, 40)) == RED
    assert image.getpixel((50, 160)) == BLUE


def test_an_srgb_profile_is_kept_and_a_mismatched_one_is_dropped(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    kept = clean(tmp_path, encode(halves(60, 40), "JPEG", icc_profile=srgb), name="rgb")
    assert opened(kept.full.data).info.get("icc_profile") == srgb
    assert opened(kept.thumbnail.data).info.get("icc_profile") == srgb
    grey = clean(tmp_path, encode(halves(60, 40).convert("L"), "PNG", icc_profile=srgb), name="grey")
    assert "icc_profile" not in opened(grey.full.data).info
    junk = clean(tmp_path, encode(halves(60, 40), "PNG", icc_profile=b"Canary" * 40), name="junk")
    assert "icc_profile" not in opened(junk.full.data).info


def test_a_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    cleaned = clean(tmp_path, encode(halves(60, 40).convert("CMYK"), "JPEG"))
    image = opened(cleaned.full.data)
    assert image.mode == "RGB"
    assert near(image.getpixel((10, 20)), RED)
    assert near(image.getpixel((50, 20)), BLUE)


# Damaged and oversized files are refused


def test_a_truncated_png_is_refused(tmp_path: Path) -> None:
    data = encode(noise(200, 200), "PNG")
    with pytest.raises(BadInput, match="damaged or incomplete"):
        clean(tmp_path, data[: len(data) // 2])


def test_a_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    data = encode(noise(200, 200), "JPEG", quality=95)
    with pytest.raises(BadInput, match="damaged or incomplete"):
        clean(tmp_path, data[: len(data) // 2])


def test_a_truncated_gif_is_refused(tmp_path: Path) -> None:
    data = encode(noise(200, 200).convert("P"), "GIF")
    with pytest.raises(BadInput, match="damaged or incomplete"):
        clean(tmp_path, data[: len(data) // 2])


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_a_signature_followed_by_junk_is_refused(tmp_path: Path, pillow_format: str) -> None:
    head = encode(halves(40, 20), pillow_format)[:16]
    with pytest.raises(BadInput):
        clean(tmp_path, head + os.urandom(2000))


def test_a_decompression_bomb_png_is_refused_before_decoding(tmp_path: Path) -> None:
    """10 billion pixels declared in a file of a hundred bytes."""
    started = time.monotonic()
    with pytest.raises(BadInput, match="pixels"):
        clean(tmp_path, png_header_only(100_000, 100_000))
    assert time.monotonic() - started < 1


def test_an_image_above_the_pixel_limit_is_refused_from_its_header(tmp_path: Path) -> None:
    """48 million pixels: over the default limit, under Pillow's own."""
    started = time.monotonic()
    with pytest.raises(BadInput, match=r"8000x6000 pixels, more than the 40,000,000"):
        clean(tmp_path, png_header_only(8000, 6000))
    assert time.monotonic() - started < 1


def test_the_pixel_limit_comes_from_the_settings(tmp_path: Path) -> None:
    data = encode(halves(100, 50), "JPEG")
    with pytest.raises(BadInput, match="100x50 pixels"):
        clean(tmp_path, data, Settings(max_image_pixels=4999))
    assert clean(tmp_path, data, Settings(max_image_pixels=5000)).full.width == 100


def test_the_byte_limit_comes_from_the_settings(tmp_path: Path) -> None:
    data = encode(noise(100, 100), "PNG")
    with pytest.raises(BadInput, match="larger than"):
        clean(tmp_path, data, Settings(max_image_bytes=len(data) - 1))
    assert clean(tmp_path, data, Settings(max_image_bytes=len(data))).full.width == 100


def test_a_gif_counts_the_pixels_of_all_its_frames(tmp_path: Path) -> None:
    data = encode_gif([Image.new("RGB", (100, 100), colour) for colour in (RED, GREEN, BLUE)], [100, 100, 100])
    with pytest.raises(BadInput, match="3 frames"):
        clean(tmp_path, data, Settings(max_image_pixels=29_999))
    assert len(frames_of(clean(tmp_path, data, Settings(max_image_pixels=30_000)).full.data)) == 3


def test_a_gif_frame_larger_than_its_screen_counts_at_its_own_size(tmp_path: Path) -> None:
    """Pillow grows the canvas to hold a frame that pokes out of the logical screen."""
    data = (
        b"GIF89a"
        + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0)  # a 10x10 screen, a global table of 2 colours
        + bytes([0, 0, 0, 255, 255, 255])
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 5000, 5000, 0)  # a 5000x5000 frame
        + b"\x02\x02\x4c\x01\x00"  # LZW minimum code size 2, one sub-block, end
        + b"\x3b"
    )
    with pytest.raises(BadInput, match=r"5000x5000 pixels over 1 frames"):
        clean(tmp_path, data, Settings(max_image_pixels=1_000_000))


def tiny_gif(frames: int) -> bytes:
    """A 1x1 GIF of frames alternately black and white, 10 ms each, written by hand."""
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control extension: 10 ms
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    black, white = b"\x02\x02\x44\x01\x00", b"\x02\x02\x4c\x01\x00"  # LZW: clear, index 0 or 1, end
    body = b"".join(control + descriptor + (black if index % 2 == 0 else white) for index in range(frames))
    return b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + bytes([0, 0, 0, 255, 255, 255]) + body + b"\x3b"


def test_a_gif_of_too_many_frames_is_refused_before_decoding(tmp_path: Path) -> None:
    assert len(frames_of(clean(tmp_path, tiny_gif(images.MAX_GIF_FRAMES), name="enough").full.data)) == 1000
    with pytest.raises(BadInput, match="1,001 frames"):
        clean(tmp_path, tiny_gif(images.MAX_GIF_FRAMES + 1), name="too many")


@pytest.mark.parametrize("pillow_format", ["PNG", "WEBP"])
def test_animated_png_and_webp_are_refused(tmp_path: Path, pillow_format: str) -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in (RED, GREEN, BLUE)]
    data = encode(frames[0], pillow_format, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(opened(data), "n_frames", 1) == 3
    with pytest.raises(BadInput, match="Animations must be GIFs"):
        clean(tmp_path, data)


def test_pillow_global_settings_are_left_alone(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    clean(tmp_path, photo_with_gps())
    with pytest.raises(BadInput):
        clean(tmp_path, png_header_only(100_000, 100_000))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS == before  # noqa: SIM300


# GIFs keep their animation


def encode_gif(frames: list[Image.Image], durations: list[int], **options: object) -> bytes:
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=durations, **options)


def frames_of(data: bytes) -> list[tuple[Image.Image, int]]:
    """Each frame as shown (RGBA) and its duration."""
    image = Image.open(io.BytesIO(data))
    return [(frame.convert("RGBA"), frame.info.get("duration", 0)) for frame in ImageSequence.Iterator(image)]


def test_a_gif_keeps_its_frames_durations_and_loop(tmp_path: Path) -> None:
    frames = [halves(60, 30)] + [Image.new("RGB", (60, 30), colour) for colour in (GREEN, BLUE)]
    data = encode_gif(frames, [100, 200, 300], loop=0, comment=b"CanaryGifComment")
    assert opened(data).info["comment"] == b"CanaryGifComment"
    cleaned = clean(tmp_path, data)
    assert (cleaned.full.content_type, cleaned.full.extension) == ("image/gif", "gif")
    assert (cleaned.full.width, cleaned.full.height) == (60, 30)
    out = frames_of(cleaned.full.data)
    assert [duration for _, duration in out] == [100, 200, 300]
    assert [frame.convert("RGB").tobytes() for frame, _ in out] == [frame.tobytes() for frame in frames]
    gif = opened(cleaned.full.data)
    assert gif.info["loop"] == 0
    assert "comment" not in gif.info
    assert b"Canary" not in cleaned.full.data


def test_a_gif_without_a_loop_still_plays_once(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in (RED, BLUE)]
    cleaned = clean(tmp_path, encode_gif(frames, [50, 50]))
    assert "loop" not in opened(cleaned.full.data).info
    assert len(frames_of(cleaned.full.data)) == 2


def test_a_gif_keeps_its_transparency(tmp_path: Path) -> None:
    frames = []
    for x in (0, 20, 40):
        frame = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
        frame.paste((*RED, 255), (x, 0, x + 20, 20))
        frames.append(frame)
    data = encode_gif(frames, [100, 100, 100], disposal=2, loop=0)
    expected = [frame for frame, _ in frames_of(data)]
    cleaned = clean(tmp_path, data)
    out = [frame for frame, _ in frames_of(cleaned.full.data)]
    assert len(out) == 3
    for shown, wanted in zip(out, expected, strict=True):
        assert shown.getchannel("A").tobytes() == wanted.getchannel("A").tobytes()
    thumbnail = opened(cleaned.thumbnail.data)
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((50, 10)) == (0, 0, 0, 0)


def test_a_gif_thumbnail_is_a_png_of_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (960, 480), colour) for colour in (RED, GREEN, BLUE)]
    cleaned = clean(tmp_path, encode_gif(frames, [100, 100, 100]))
    assert (cleaned.thumbnail.content_type, cleaned.thumbnail.extension) == ("image/png", "png")
    thumbnail = opened(cleaned.thumbnail.data)
    assert thumbnail.format == "PNG"
    assert thumbnail.size == (480, 240) == (cleaned.thumbnail.width, cleaned.thumbnail.height)
    assert getattr(thumbnail, "n_frames", 1) == 1
    assert thumbnail.convert("RGB").getpixel((100, 100)) == RED


# Formats and thumbnails


@pytest.mark.parametrize(
    ("pillow_format", "content_type", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_a_still_keeps_its_format_and_its_thumbnail_fits(
    tmp_path: Path, pillow_format: str, content_type: str, extension: str
) -> None:
    cleaned = clean(tmp_path, encode(halves(1200, 600), pillow_format))
    full, thumbnail = opened(cleaned.full.data), opened(cleaned.thumbnail.data)
    assert full.format == thumbnail.format == pillow_format
    for rendition in (cleaned.full, cleaned.thumbnail):
        assert (rendition.content_type, rendition.extension) == (content_type, extension)
    assert full.size == (1200, 600) == (cleaned.full.width, cleaned.full.height)
    assert thumbnail.size == (480, 240) == (cleaned.thumbnail.width, cleaned.thumbnail.height)
    assert near(thumbnail.convert("RGB").getpixel((100, 120)), RED)
    assert near(thumbnail.convert("RGB").getpixel((380, 120)), BLUE)


def test_a_tall_thumbnail_fits_on_its_longer_side(tmp_path: Path) -> None:
    cleaned = clean(tmp_path, encode(halves(300, 1500), "JPEG"), Settings(thumbnail_size=200))
    assert (cleaned.thumbnail.width, cleaned.thumbnail.height) == (40, 200)


def test_a_small_image_is_not_upscaled(tmp_path: Path) -> None:
    cleaned = clean(tmp_path, encode(halves(100, 50), "PNG"))
    assert (cleaned.thumbnail.width, cleaned.thumbnail.height) == (100, 50)
    assert opened(cleaned.thumbnail.data).size == (100, 50)


def test_jpeg_modes_it_cannot_hold_become_rgb_and_grey_stays_grey(tmp_path: Path) -> None:
    grey = clean(tmp_path, encode(halves(60, 40).convert("L"), "JPEG"), name="grey")
    assert opened(grey.full.data).mode == opened(grey.thumbnail.data).mode == "L"


def test_a_palette_png_keeps_its_palette_and_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (60, 40), 0)
    image.putpalette([*RED, *BLUE, *GREEN])
    image.paste(1, (30, 0, 60, 40))
    data = encode(image, "PNG", transparency=1)
    cleaned = clean(tmp_path, data)
    full = opened(cleaned.full.data)
    assert full.mode == "P"
    rgba = full.convert("RGBA")
    assert rgba.getpixel((10, 10)) == (*RED, 255)
    assert alpha(rgba, (50, 10)) == 0
    thumbnail = opened(cleaned.thumbnail.data)
    assert thumbnail.mode == "RGBA"
    assert alpha(thumbnail, (50, 10)) == 0


def test_a_png_with_alpha_keeps_it(tmp_path: Path) -> None:
    image = Image.new("RGBA", (60, 40), (*RED, 255))
    image.paste((0, 0, 0, 0), (30, 0, 60, 40))
    cleaned = clean(tmp_path, encode(image, "PNG"))
    assert opened(cleaned.full.data).tobytes() == image.tobytes()


def test_a_16_bit_grey_png_gets_a_readable_thumbnail(tmp_path: Path) -> None:
    row = struct.pack("<30H", *[0] * 30) + struct.pack("<30H", *[32768] * 30)
    image = Image.frombytes("I;16", (60, 40), row * 40)
    cleaned = clean(tmp_path, encode(image, "PNG"))
    assert opened(cleaned.full.data).mode == "I;16"
    thumbnail = opened(cleaned.thumbnail.data)
    assert thumbnail.mode == "L"
    assert thumbnail.getpixel((10, 10)) == 0
    assert thumbnail.getpixel((50, 10)) == 128


def test_a_lossless_webp_stays_lossless_and_a_lossy_one_lossy(tmp_path: Path) -> None:
    image = noise(64, 64)
    lossless = clean(tmp_path, encode(image, "WEBP", lossless=True), name="lossless")
    assert b"VP8L" in lossless.full.data[:64]
    assert opened(lossless.full.data).convert("RGB").tobytes() == image.tobytes()
    lossy = clean(tmp_path, encode(image, "WEBP", quality=80), name="lossy")
    assert b"VP8 " in lossy.full.data[:64]


def test_a_webp_with_alpha_keeps_it(tmp_path: Path) -> None:
    image = Image.new("RGBA", (60, 40), (*RED, 255))
    image.paste((0, 0, 0, 0), (30, 0, 60, 40))
    cleaned = clean(tmp_path, encode(image, "WEBP"))
    for rendition in (cleaned.full, cleaned.thumbnail):
        out = opened(rendition.data)
        assert out.mode == "RGBA"
        assert alpha(out, (50, 10)) == 0
        assert alpha(out, (10, 10)) == 255


def test_a_video_format_is_not_an_image(tmp_path: Path) -> None:
    path = write(tmp_path, "clip", iso_bmff(b"isom"))
    with pytest.raises(ValueError, match="not an image"):
        clean_image(path, kinds.MP4, DEFAULTS)
