"""Uploaded images made safe to serve: decoded in full, turned upright, encoded again without their
metadata, plus a thumbnail.

Nothing of the uploaded file is passed through: the pixels are decoded and encoded afresh, so EXIF
(GPS position, camera serial numbers), XMP, comments and text chunks are gone, and a file that only
looks like an image (a truncated one, or one with something appended) cannot be served as it came.
The output keeps the input's format. Animated PNG and animated WebP are refused: GIF is the one
animated format here, and keeping only the first frame would silently change what the poster sent.

Limits are checked from the headers before any pixel is decoded, so a file declaring a huge canvas
(a decompression bomb) costs nothing. The ICC colour profile is the one piece of the file kept, when
it parses and matches the output's colours: it describes colour, not the picture's origin, and
dropping it would shift the colours of wide-gamut photos (Display P3, as phones take them).
"""

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps, ImageSequence

from errors import BadInput
from media.kinds import Format, MediaKind, byte_limit
from settings import Settings

# The Pillow decoder (and encoder) for each accepted still or animated image type.
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}

JPEG_QUALITY = 88
WEBP_QUALITY = 85
THUMBNAIL_JPEG_QUALITY = 85
THUMBNAIL_WEBP_QUALITY = 80
PNG_COMPRESS_LEVEL = 6
# Each frame costs time and memory beyond its pixels: without a cap, a 15 MB GIF of tiny frames
# holds hundreds of thousands of them (minutes of work). 1000 frames is 40 s at 25 frames a second.
MAX_GIF_FRAMES = 1000

# Pillow's modes that PNG stores as they are; any other is stored as RGBA.
PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
# Modes that may carry a transparent colour (PNG tRNS) instead of an alpha channel.
TRANSPARENT_COLOUR_MODES = frozenset({"1", "L", "I", "I;16", "P", "RGB"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16"})

# What Pillow raises on a damaged, truncated or hostile file (its fuzzers have met each).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # including UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)
# Pillow's own decompression bomb guard (at twice Image.MAX_IMAGE_PIXELS, or its warning when a
# filter turns warnings into errors): only reached for sizes beyond what this module checks first.
BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class CleanImage:
    full: Rendition  # what gets stored and served
    thumbnail: Rendition  # at most settings.thumbnail_size on its longer side


@dataclass(frozen=True)
class _Still:
    image: Image.Image  # upright; its info holds at most "transparency"
    icc_profile: bytes | None


@dataclass(frozen=True)
class _Animation:
    # Each the whole canvas as shown at that moment, without info: RGB, or RGBA if any is see-through.
    frames: list[Image.Image]
    durations: list[int]  # milliseconds
    loop: int | None  # 0: forever; None: play once (the file had no loop extension)


def clean_image(path: Path, fmt: Format, settings: Settings) -> CleanImage:
    """Raises errors.BadInput(<clear message for an end user>) on anything wrong.

    fmt is what media.kinds.sniff found in the file's first bytes: the file is decoded as that
    format only. The thumbnail is JPEG for a JPEG, WebP for a WebP, PNG for a PNG, and for a GIF a
    PNG of its first frame."""
    pillow_format = PILLOW_FORMATS.get(fmt.content_type)
    if pillow_format is None:
        raise ValueError(f"{fmt.content_type} is not an image format")
    limit = byte_limit(fmt.kind, settings)
    if path.stat().st_size > limit:
        raise BadInput(f"This file is larger than the {_megabytes(limit)} allowed for this kind of media.")

    if fmt.kind is MediaKind.GIF:
        animation = _decode_gif(path, settings.max_image_pixels)
        full = _encode_gif(animation)
        first = animation.frames[0]
        return CleanImage(full=full, thumbnail=_thumbnail(first, "PNG", settings.thumbnail_size, None))

    still = _decode_still(path, pillow_format, settings.max_image_pixels)
    image = _output_pixels(still.image, pillow_format)
    lossless = pillow_format == "WEBP" and _webp_is_lossless(path)
    full = _encode_still(image, pillow_format, still.icc_profile, lossless=lossless)
    thumbnail = _thumbnail(image, pillow_format, settings.thumbnail_size, still.icc_profile)
    return CleanImage(full=full, thumbnail=thumbnail)


def _decode_still(path: Path, pillow_format: str, max_pixels: int) -> _Still:
    """The first (for a JPEG, the primary) image, decoded in full, with its EXIF orientation applied;
    a plain image detached from the file, with nothing of the file's info but the transparent colour."""
    try:
        with Image.open(path, formats=[pillow_format]) as opened:
            _check_pixels(opened.width, opened.height, max_pixels)
            # JPEG files with several pictures (MPO: stereo pairs, depth maps) keep their primary one.
            if pillow_format != "JPEG" and getattr(opened, "n_frames", 1) > 1:
                raise BadInput(f"Animations must be GIFs: this {pillow_format.title()} image is animated.")
            opened.load()
            icc_profile = opened.info.get("icc_profile")
            image = opened.copy()
        ImageOps.exif_transpose(image, in_place=True)
    except BOMB_ERRORS as error:
        raise BadInput(f"This image has more than the {max_pixels:,} pixels allowed.") from error
    except DECODE_ERRORS as error:
        raise BadInput("This image could not be read: the file is damaged or incomplete.") from error
    return _Still(_strip(image), icc_profile if isinstance(icc_profile, bytes) else None)


def _decode_gif(path: Path, max_pixels: int) -> _Animation:
    """Every frame, decoded in full; the pixel limit counts every frame, since all are held at once."""
    width, height, frame_count = _gif_canvas(path)
    if frame_count > MAX_GIF_FRAMES:
        raise BadInput(f"This GIF has {frame_count:,} frames, more than the {MAX_GIF_FRAMES:,} allowed.")
    if width * height * frame_count > max_pixels:
        raise BadInput(
            f"This GIF is {width}x{height} pixels over {frame_count} frames, more than the "
            f"{max_pixels:,} pixels allowed in all."
        )
    try:
        with Image.open(path, formats=["GIF"]) as opened:
            frames: list[Image.Image] = []
            durations: list[int] = []
            for frame in ImageSequence.Iterator(opened):
                # RGBA folds each frame's transparent palette entry into the pixels.
                frames.append(_strip(frame.convert("RGBA")))
                durations.append(int(frame.info.get("duration", 0)))
            loop = opened.info.get("loop")
    except BOMB_ERRORS as error:
        raise BadInput(f"This GIF has more than the {max_pixels:,} pixels allowed.") from error
    except DECODE_ERRORS as error:
        raise BadInput("This GIF could not be read: the file is damaged or incomplete.") from error
    if not any(_uses_alpha(frame) for frame in frames):
        for index, frame in enumerate(frames):
            frames[index] = frame.convert("RGB")
    return _Animation(frames, durations, loop if isinstance(loop, int) else None)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise BadInput(f"This image is {width}x{height} pixels, more than the {max_pixels:,} pixels allowed.")


def _gif_canvas(path: Path) -> tuple[int, int, int]:
    """The canvas width and height and the number of frames, from the GIF's block structure alone
    (no pixel is decoded). The canvas is the logical screen grown to hold any frame that pokes out
    of it, as Pillow grows it while decoding."""
    data = path.read_bytes()
    if len(data) < 13:
        raise BadInput("This GIF could not be read: the file is damaged or incomplete.")
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global colour table
    frames = 0
    while position < len(data):
        block = data[position]
        position += 1
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: a label, then data sub-blocks
            position = _skip_sub_blocks(data, position + 1)
        elif block == 0x2C:  # image descriptor: left, top, width, height, flags
            if position + 9 > len(data):
                break
            left, top, frame_width, frame_height, flags = struct.unpack_from("<HHHHB", data, position)
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            frames += 1
            position += 9 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the local colour table
            position = _skip_sub_blocks(data, position + 1)  # after the LZW minimum code size
        # Any other byte is junk between blocks, which Pillow skips too.
    return width, height, frames


def _skip_sub_blocks(data: bytes, position: int) -> int:
    """The position after the chain of sub-blocks (a length byte, that many bytes) ending with 0."""
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position


def _strip(image: Image.Image) -> Image.Image:
    """The image (one of this module's own, never one still tied to its file), its info emptied of
    all but the transparent colour: no EXIF, XMP, comment, text chunk or ICC profile left for an
    encoder to copy by default."""
    transparency = image.info.get("transparency")
    image.info = {"transparency": transparency} if transparency is not None else {}
    return image


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    """The image in mode, converted only when it is not already (a conversion copies every pixel)."""
    return image if image.mode == mode else _strip(image.convert(mode))


def _output_pixels(image: Image.Image, pillow_format: str) -> Image.Image:
    """The image in a mode its format's encoder stores as it is."""
    if pillow_format == "JPEG":
        return _jpeg_pixels(image)
    if pillow_format == "PNG":
        return image if image.mode in PNG_MODES else _in_mode(image, "RGBA")
    return _in_mode(image, "RGBA" if _uses_alpha(image) else "RGB")


def _encode_still(image: Image.Image, pillow_format: str, icc_profile: bytes | None, *, lossless: bool) -> Rendition:
    """Every option that could carry metadata is given, empty: some encoders would otherwise copy
    it from the image's info."""
    options: dict[str, Any]
    if pillow_format == "JPEG":
        options = {"quality": JPEG_QUALITY, "optimize": True, "exif": b"", "comment": b""}
    elif pillow_format == "PNG":
        options = {"compress_level": PNG_COMPRESS_LEVEL, "exif": b""}
        transparency = image.info.get("transparency")
        if transparency is not None and image.mode in TRANSPARENT_COLOUR_MODES:
            options["transparency"] = transparency
    else:
        # For lossless WebP, quality is the compression effort.
        options = {"lossless": lossless, "quality": WEBP_QUALITY, "exif": b"", "xmp": b""}
    return _rendition(image, pillow_format, options | {"icc_profile": _matching_icc(image.mode, icc_profile)})


def _jpeg_pixels(image: Image.Image) -> Image.Image:
    """Grey or RGB, the two modes JPEG output here holds. CMYK (print files, rare here) goes through
    Pillow's plain conversion, and its CMYK profile is dropped as no longer matching."""
    return image if image.mode in ("L", "RGB") else _in_mode(image, "RGB")


def _matching_icc(mode: str, icc_profile: bytes | None) -> bytes | None:
    """The file's ICC profile when it parses and describes the output's colour space (a CMYK
    profile on pixels now RGB would be wrong), else None."""
    if not icc_profile:
        return None
    wanted = "GRAY" if mode in GREY_MODES else "RGB"
    return icc_profile if _icc_colour_space(icc_profile) == wanted else None


def _icc_colour_space(icc_profile: bytes) -> str | None:
    """The profile's colour space (RGB, GRAY, CMYK...), or None when lcms cannot read it as a profile."""
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)).profile.xcolor_space.strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _encode_gif(animation: _Animation) -> Rendition:
    """Every frame with its duration, and the loop count; no comment or application extension.

    Opaque frames are stored as their difference from the previous frame, left in place. A frame
    cannot make a pixel left in place see-through again, so frames with transparency are each
    cleared away (disposal 2, "restore to background") before the next is drawn in full. Pillow
    merges a frame identical to the previous one into it, adding their durations: the animation
    plays the same."""
    first, *rest = animation.frames
    options: dict[str, Any] = {
        "save_all": True,
        "append_images": rest,
        "duration": animation.durations,
        "disposal": 2 if first.mode == "RGBA" else 1,
        "comment": b"",
    }
    if animation.loop is not None:
        options["loop"] = animation.loop
    return _rendition(first, "GIF", options)


def _thumbnail(image: Image.Image, pillow_format: str, size: int, icc_profile: bytes | None) -> Rendition:
    """The image scaled down (never up) to fit size x size, in pillow_format (PNG for a GIF)."""
    if pillow_format == "JPEG":
        mode = "L" if image.mode == "L" else "RGB"
    elif _uses_alpha(image):
        mode = "RGBA"
    elif pillow_format != "WEBP" and image.mode in GREY_MODES:
        mode = "L"
    else:
        mode = "RGB"
    # Palette indices, single bits and 16-bit grey cannot be resampled as they are.
    if image.mode in ("I", "I;16"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("1", "P"):
        image = image.convert(mode)
    target = _fit(image.width, image.height, size)
    small = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0) if target != image.size else image.copy()
    small = _in_mode(_strip(small), mode)
    options: dict[str, Any]
    if pillow_format == "JPEG":
        options = {"quality": THUMBNAIL_JPEG_QUALITY, "optimize": True, "exif": b"", "comment": b""}
    elif pillow_format == "WEBP":
        options = {"quality": THUMBNAIL_WEBP_QUALITY, "exif": b"", "xmp": b""}
    else:
        pillow_format = "PNG"
        options = {"compress_level": PNG_COMPRESS_LEVEL, "exif": b""}
    return _rendition(small, pillow_format, options | {"icc_profile": _matching_icc(small.mode, icc_profile)})


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    """The largest size within size x size with the same aspect ratio, but never larger than it was."""
    scale = size / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _uses_alpha(image: Image.Image) -> bool:
    """Whether any pixel is less than opaque (an alpha channel that is all opaque does not count)."""
    if "A" in image.getbands():
        lowest = image.getchannel("A").getextrema()[0]
        return isinstance(lowest, int | float) and lowest < 255
    return image.info.get("transparency") is not None


def _webp_is_lossless(path: Path) -> bool:
    """Whether the WebP's image data is VP8L (lossless), so that it is not made lossy on the way."""
    data = path.read_bytes()
    position = 12  # after RIFF, the size and WEBP
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        if chunk == b"VP8L":
            return True
        if chunk in (b"VP8 ", b"ALPH"):
            return False
        position += 8 + size + (size & 1)
    return False


def _rendition(image: Image.Image, pillow_format: str, options: dict[str, Any]) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, format=pillow_format, **options)
    extension = "jpg" if pillow_format == "JPEG" else pillow_format.lower()
    return Rendition(buffer.getvalue(), f"image/{pillow_format.lower()}", extension, image.width, image.height)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
