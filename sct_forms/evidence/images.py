"""Re-encoding uploaded images without metadata, and small JPEG renditions for print."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

JPEG_QUALITY = 90
WEBP_QUALITY = 90
PRINT_MAX_SIDE = 1600
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
    """Decode an image checked by magic bytes and re-encode it upright and without metadata."""
    output_format = _OUTPUT_FORMAT[source_format]
    # Scoped to this call: Pillow's bomb warning must stop the decode, not just be logged.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _decode(data, source_format, max_pixels)
        except ImageRejectedError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLargeError(str(error)) from error
        except Exception as error:
            # Decoders fail on hostile input with many exception types (OSError,
            # SyntaxError, ValueError, struct.error, ...); all of them mean "broken".
            raise ImageBrokenError(str(error)) from error
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
    """A metadata-free RGB JPEG with its long side at most PRINT_MAX_SIDE pixels."""
    longest = max(image.size)
    if longest > PRINT_MAX_SIDE:
        scale = PRINT_MAX_SIDE / longest
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # reducing_gap lets Pillow shrink by whole factors first: much faster on 12 MP photos
        # and visually the same at print size.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    rendition = _flatten_to_rgb(image)
    if rendition is image:
        # Never clear .info on the caller's image.
        rendition = image.copy()
    rendition.info = {}
    buffer = io.BytesIO()
    rendition.save(buffer, "JPEG", quality=PRINT_QUALITY, optimize=True)
    return buffer.getvalue()


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
    # WeasyPrint switches Pillow to accept truncated images when it is imported; an upload
    # cut short must still be refused, so decode with the strict setting.
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return image


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
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif output_format == "png":
        # Default compression: optimize=True is several times slower on large scans.
        image.save(buffer, "PNG")
    else:
        image.save(buffer, "WEBP", quality=WEBP_QUALITY)
    return buffer.getvalue()
