"""Storing uploaded images without metadata, and small JPEG renditions for print."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps

JPEG_QUALITY = 90
WEBP_QUALITY = 90

# Print copies are sized for the box a photo gets in a packet, at 250 dpi. static/css/print.css
# prints evidence photos at most 3.6in high (two to a letter page) and at most the 6.5in text
# column wide (letter with 1in margins), so a 4:3 photo prints 4.8 x 3.6in from 1200 x 900 px and
# a portrait 2.7 x 3.6in from 675 x 900 px. Office printers screen photos at 100-150 lines per
# inch, and 1.5-2 pixels per line is all a halftone can show: 250 dpi is sharp at that size,
# while 300 dpi and more only made packets bigger (18 photos must fit a 15 MB email with the
# attached PDFs). Keep these in step with that CSS.
PRINT_DPI = 250
PRINT_MAX_WIDTH = round(6.5 * PRINT_DPI)  # 1625 px
PRINT_MAX_HEIGHT = round(3.6 * PRINT_DPI)  # 900 px
# Quality 80 with 4:2:0 chroma: no visible loss on paper at 250 dpi, about 300 KB for a detailed
# 12 MP photo. Baseline, not progressive: the PDF embeds the bytes as they are and progressive
# JPEG only helps a page that loads over a slow network.
PRINT_QUALITY = 80

# Each source format is opened only by its own Pillow plugin, so a file that passed our
# magic-byte check cannot be steered into some other, less hardened decoder.
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
# HEIC is converted to JPEG: browsers and PDF tools do not display HEIC.
_OUTPUT_FORMAT = {"jpeg": "jpeg", "png": "png", "webp": "webp", "heif": "jpeg"}
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejectedError(Exception):
    """Base for images that cannot be stored."""


class ImageTooLargeError(ImageRejectedError):
    """The declared pixel count is over the limit (a decompression bomb or a huge scan)."""


class ImageBrokenError(ImageRejectedError):
    """The image is corrupt, truncated or cannot be decoded."""


@dataclass(frozen=True)
class ReencodedImage:
    """Clean image bytes to store, their format and size, and a print rendition."""

    data: bytes = field(repr=False)
    format: str  # "jpeg", "png" or "webp"
    width: int
    height: int
    print_rendition: bytes = field(repr=False)


def reencode_image(data: bytes, source_format: str, *, max_pixels: int) -> ReencodedImage:
    """Decode an image checked by magic bytes and store it upright and without metadata.

    A JPEG that needs no conversion keeps its compressed pixels (see _stripped_jpeg); every
    other image is decoded and encoded again.
    """
    output_format = _OUTPUT_FORMAT[source_format]
    with _decoding():
        if source_format == "jpeg":
            stripped = _stripped_jpeg(data, max_pixels)
            if stripped is not None:
                return stripped
        image = _decode(data, source_format, max_pixels)
    image = _upright(image)
    image = _to_srgb(image)
    image = _normalise_mode(image, output_format)
    # Drop everything carried from the source (EXIF, GPS, XMP, comments, ICC, text chunks):
    # some encoders copy entries from .info unless told otherwise.
    image.info = {}
    return ReencodedImage(
        data=_encode(image, output_format),
        format=output_format,
        width=image.width,
        height=image.height,
        print_rendition=make_print_rendition(image),
    )


def make_print_rendition(image: Image.Image) -> bytes:
    """A metadata-free RGB JPEG no larger than PRINT_MAX_WIDTH x PRINT_MAX_HEIGHT pixels."""
    size = print_size(image.size)
    if size != image.size:
        # reducing_gap 1.5 first halves a 12 MP photo with a box filter (as a JPEG decoded at
        # half scale already is), then Lanczos shrinks less than 2x: a quarter of the time of
        # Lanczos from full size, and the same at print size.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.5)
    rendition = _flatten_to_rgb(image)
    if rendition is image:
        # Never clear .info on the caller's image.
        rendition = image.copy()
    rendition.info = {}
    buffer = io.BytesIO()
    rendition.save(
        buffer,
        "JPEG",
        quality=PRINT_QUALITY,
        subsampling="4:2:0",
        progressive=False,
        optimize=True,
    )
    return buffer.getvalue()


def print_size(size: tuple[int, int]) -> tuple[int, int]:
    """The pixel size of the print copy: the image scaled down to fit the printed box."""
    width, height = size
    scale = min(1.0, PRINT_MAX_WIDTH / width, PRINT_MAX_HEIGHT / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@contextmanager
def _decoding() -> Iterator[None]:
    """Turn whatever a decoder raises into ImageTooLargeError or ImageBrokenError."""
    # Scoped to the decode: Pillow's bomb warning must stop it, not just be logged.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ImageRejectedError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLargeError(str(error)) from error
        except Exception as error:
            # Decoders fail on hostile input with many exception types (OSError,
            # SyntaxError, ValueError, struct.error, ...); all of them mean "broken".
            raise ImageBrokenError(str(error)) from error


# --- JPEG without a second compression -----------------------------------------------------------
# Many uploads are JPEGs that are already upright and carry no colour profile (landscape phone
# photos, scans, exports). For those the stored file is the upload's own compressed pixels with
# every other segment left out: no EXIF, GPS, XMP, comments, thumbnails, maker notes or trailing
# images (a phone's second picture or depth map after the end marker). Segments are copied by
# allow-list, so anything unknown sends the file to the full decode and re-encode instead. This
# skips a full-size encode (and its second generation of compression loss), and the check decode
# runs at a reduced scale that also feeds the print copy: about a third of the CPU time of
# decoding and encoding 12 MP again.

_EOI, _SOS = 0xD9, 0xDA
# Baseline, extended and progressive Huffman frames with 8-bit samples: what browsers, PDF
# readers and Pillow all decode. Arithmetic coding, lossless and 12-bit frames are re-encoded.
_PLAIN_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
# Tables and restart interval: what decoding needs besides the frame and scans.
_TABLES = frozenset({0xC4, 0xDB, 0xDD})
_APP0, _APP15, _COMMENT = 0xE0, 0xEF, 0xFE
# The end of a scan's entropy-coded data: 0xFF before a byte that is not a stuffed zero, a
# restart marker or another 0xFF (a fill byte).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# A JFIF header without thumbnail, density or anything else: version 1.01, aspect ratio 1:1.
_PLAIN_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def _stripped_jpeg(data: bytes, max_pixels: int) -> ReencodedImage | None:
    """The JPEG stored as its own compressed pixels without metadata, or None to re-encode it."""
    header = Image.open(io.BytesIO(data), formats=["JPEG"])
    _check_pixels(*header.size, max_pixels)
    if not _needs_no_conversion(header):
        return None
    stripped = _pixel_segments(data)
    if stripped is None:
        return None
    try:
        # The bytes stored are the bytes checked: decode the stripped file in full (entropy
        # decoding cannot be scaled), with the inverse DCT scaled down towards the print size.
        image = Image.open(io.BytesIO(stripped), formats=["JPEG"])
        if (image.size, image.mode) != (header.size, header.mode):
            return None
        image.draft(image.mode, print_size(image.size))
        _load_strictly(image)
    except Exception:
        # The full decode decides whether the upload is broken or only unusual.
        return None
    return ReencodedImage(
        data=stripped,
        format="jpeg",
        width=header.width,
        height=header.height,
        print_rendition=make_print_rendition(image),
    )


def _needs_no_conversion(header: Image.Image) -> bool:
    """Whether the JPEG's pixels can be stored as they are: upright, no profile, RGB or grey."""
    # A colour profile would have to be applied to the pixels before it is dropped; an Adobe
    # segment decides how the colour channels are read; CMYK is converted to RGB.
    if header.mode not in ("RGB", "L") or "icc_profile" in header.info or "adobe" in header.info:
        return False
    try:
        orientation = header.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        # Unreadable EXIF: the full decode keeps the picture as decoded, as it does for others.
        return False
    return orientation == 1


def _pixel_segments(data: bytes) -> bytes | None:
    """SOI, tables, frame, scans and EOI of a JPEG; None when it holds anything else."""
    if data[:2] != b"\xff\xd8":
        return None
    kept = []
    has_frame = has_jfif = False
    position = 2
    while True:
        if data[position : position + 1] != b"\xff":
            return None
        while data[position : position + 1] == b"\xff":
            position += 1  # the marker's 0xFF and any fill bytes before it
        if position >= len(data):
            return None
        marker = data[position]
        position += 1
        if marker == _EOI:
            break
        end = position + int.from_bytes(data[position : position + 2], "big")
        if end < position + 2 or end > len(data):
            return None
        # The segment with its marker, without the fill bytes before it.
        segment = slice(position - 2, end)
        if marker == _APP0 and data[position + 2 : position + 7] == b"JFIF\x00":
            has_jfif = True
        elif _APP0 <= marker <= _APP15 or marker == _COMMENT:
            pass  # metadata: left out
        elif (
            marker in _PLAIN_FRAMES
            and not has_frame
            and data[position + 2 : position + 3] == b"\x08"
        ):
            has_frame = True
            kept.append(data[segment])
        elif marker in _TABLES:
            kept.append(data[segment])
        elif marker == _SOS and has_frame:
            scan_end = _SCAN_END.search(data, end)
            if scan_end is None:
                return None
            header_end, end = end, scan_end.start()
            while end > header_end and data[end - 1] == 0xFF:
                end -= 1  # fill bytes before the next marker
            kept.append(data[position - 2 : end])
        else:
            return None
        position = end
    if not has_frame:
        return None
    # A JFIF header decides how some decoders read the colour channels, so a plain one stands
    # in for the original's (whose thumbnail may show the photo as it was before cropping).
    return b"".join([b"\xff\xd8", _PLAIN_JFIF if has_jfif else b"", *kept, b"\xff\xd9"])


def _decode(data: bytes, source_format: str, max_pixels: int) -> Image.Image:
    """Read the header, refuse oversized images, then decode the pixels."""
    if source_format == "heif":
        # open_heif only parses the container; pixels are decoded by to_pillow().
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        _check_pixels(*heif.size, max_pixels)
        return heif.to_pillow()
    # Image.open is lazy: it reads the header (and runs Pillow's own bomb check) only.
    image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[source_format]])
    _check_pixels(*image.size, max_pixels)
    _load_strictly(image)
    return image


def _load_strictly(image: Image.Image) -> None:
    """Decode the pixels, refusing a file cut short."""
    # WeasyPrint switches Pillow to accept truncated images when it is imported; an upload
    # cut short must still be refused, so decode with the strict setting.
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageBrokenError(f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} is over {max_pixels} pixels")


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation so the picture stays upright once EXIF is stripped."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # Malformed EXIF is common from cheap cameras; keep the photo as decoded rather
        # than refuse it.
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels with an embedded colour profile to sRGB, since the profile is dropped."""
    icc_profile = image.info.get("icc_profile")
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A bad or mismatched profile only costs colour accuracy, not the upload.
        return image
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _normalise_mode(image: Image.Image, output_format: str) -> Image.Image:
    """Convert to a mode the output encoder writes faithfully."""
    if image.mode in _SIXTEEN_BIT_MODES:
        image = _sixteen_bit_to_l(image)
    if output_format == "jpeg":
        return image if image.mode == "L" else _flatten_to_rgb(image)
    if _has_alpha(image):
        return image if image.mode == "RGBA" else image.convert("RGBA")
    if output_format == "png" and image.mode == "L":
        return image
    return image if image.mode == "RGB" else image.convert("RGB")


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    # A plain convert("L") clips 16-bit values at 255 (a white picture); scale instead.
    return image.convert("I").point(lambda value: value / 256).convert("L")


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white, as they look on a printed page."""
    if image.mode in _SIXTEEN_BIT_MODES:
        image = _sixteen_bit_to_l(image)
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, output_format: str) -> bytes:
    buffer = io.BytesIO()
    if output_format == "jpeg":
        # No optimize: Huffman optimisation took 2.5-3.5x the encode of a 12 MP photo for a
        # file 3-4% smaller, and this full-size copy is only downloaded, never printed.
        image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    elif output_format == "png":
        # Default compression: optimize=True is several times slower on large scans.
        image.save(buffer, "PNG")
    else:
        image.save(buffer, "WEBP", quality=WEBP_QUALITY)
    return buffer.getvalue()
