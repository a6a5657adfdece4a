"""What an uploaded file is, decided from its first bytes only, and how big each kind may be.

The declared content type and the file name come from the client and may lie (a script named
cat.jpg, a PNG sent as image/jpeg), so they are never consulted: a file is what its signature says,
and one that matches no accepted signature is refused. HEIC, AVIF, BMP, TIFF, SVG, PDF, ZIP and
text all come out as None, on purpose.
"""

import enum
import struct
from dataclasses import dataclass

from settings import Settings


class MediaKind(enum.Enum):
    IMAGE = "IMAGE"
    GIF = "GIF"
    VIDEO = "VIDEO"


@dataclass(frozen=True)
class Format:
    kind: MediaKind
    content_type: str
    extension: str


JPEG = Format(MediaKind.IMAGE, "image/jpeg", "jpg")
PNG = Format(MediaKind.IMAGE, "image/png", "png")
WEBP = Format(MediaKind.IMAGE, "image/webp", "webp")
GIF = Format(MediaKind.GIF, "image/gif", "gif")
MP4 = Format(MediaKind.VIDEO, "video/mp4", "mp4")
MOV = Format(MediaKind.VIDEO, "video/quicktime", "mov")
WEBM = Format(MediaKind.VIDEO, "video/webm", "webm")

FORMATS = (JPEG, PNG, WEBP, GIF, MP4, MOV, WEBM)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # the EBML header element's id: every Matroska and WebM file starts with it
EBML_DOCTYPE_ID = 0x4282

# Major brands of the ISO-BMFF `ftyp` box taken as MP4 (served as video/mp4). Brands of still
# images (heic, mif1, avif), audio (M4A , M4B ) and anything unlisted are refused.
MP4_BRANDS = frozenset(
    {
        b"isom",  # ISO base media file format, the generic brand most muxers (ffmpeg) write
        b"iso2",  # ISO base media, later editions of the spec
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"iso7",
        b"iso8",
        b"iso9",
        b"mp41",  # MP4 version 1
        b"mp42",  # MP4 version 2: most cameras and phones (Android) write it
        b"avc1",  # MP4 with H.264 (Adobe, some encoders)
        b"M4V ",  # Apple iTunes video
        b"M4VH",  # Apple TV video
        b"M4VP",  # Apple iPhone video
        b"dash",  # MPEG-DASH segments, as saved by some downloaders
        b"MSNV",  # Sony PSP / MPEG-4 for Sony devices
        b"XAVC",  # Sony XAVC S cameras
        b"mmp4",  # 3GPP mobile MP4
        b"3gp4",  # 3GPP (phones), releases 4 to 9
        b"3gp5",
        b"3gp6",
        b"3gp7",
        b"3gp8",
        b"3gp9",
        b"3g2a",  # 3GPP2 (CDMA phones)
        b"3g2b",
        b"3g2c",
    }
)
MOV_BRAND = b"qt  "  # QuickTime, as iPhones and Macs record


def sniff(head: bytes) -> Format | None:
    """What the first bytes say the file is (pass at least the first 64 bytes; 4096 is plenty);
    None when it is none of the accepted formats. The declared type and the file name are never
    consulted."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(PNG_SIGNATURE):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    # RIFF <size> WEBP then a VP8 , VP8L or VP8X chunk (the WHATWG sniffing rule): an AVI or WAV
    # is RIFF too.
    if head[:4] == b"RIFF" and head[8:15] == b"WEBPVP8":
        return WEBP
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(EBML_MAGIC):
        return WEBM if _ebml_doctype(head) == b"webm" else None
    return None


def byte_limit(kind: MediaKind, settings: Settings) -> int:
    """The largest file of this kind an upload may be."""
    match kind:
        case MediaKind.IMAGE:
            return settings.max_image_bytes
        case MediaKind.GIF:
            return settings.max_gif_bytes
        case MediaKind.VIDEO:
            return settings.max_video_bytes


def _iso_bmff(head: bytes) -> Format | None:
    """MP4 or MOV by the major brand of the leading ftyp box (size, "ftyp", brand, version, ...)."""
    if len(head) < 16 or struct.unpack_from(">I", head)[0] < 16:
        return None
    brand = head[8:12]
    if brand == MOV_BRAND:
        return MOV
    if brand in MP4_BRANDS:
        return MP4
    return None


def _ebml_doctype(head: bytes) -> bytes | None:
    """The DocType ("webm", "matroska") among the children of the EBML header that starts head."""
    parsed = _vint(head, len(EBML_MAGIC), keep_marker=False)
    if parsed is None:
        return None
    header_size, position = parsed
    end = min(position + header_size, len(head))
    while position < end:
        element = _vint(head, position, keep_marker=True)
        if element is None:
            return None
        element_id, position = element
        size = _vint(head, position, keep_marker=False)
        if size is None:
            return None
        length, position = size
        if element_id == EBML_DOCTYPE_ID:
            return head[position : position + length].rstrip(b"\x00")
        position += length
    return None


def _vint(data: bytes, position: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """The EBML variable-length integer at position (an element id keeps its length marker bit,
    a size drops it) and the position after it; None when it is cut off or malformed."""
    if position >= len(data) or data[position] == 0:
        return None
    first = data[position]
    length = 8 - first.bit_length() + 1
    if position + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[position + 1 : position + length]:
        value = (value << 8) | byte
    return value, position + length
