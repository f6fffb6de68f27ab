"""Stored images: metadata stripped, orientation applied, modes converted, print renditions."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from sct_forms.evidence.images import (
    PRINT_MAX_HEIGHT,
    PRINT_MAX_WIDTH,
    ImageBrokenError,
    ImageTooLargeError,
    make_print_rendition,
    reencode_image,
)
from sct_forms.evidence.inspection import inspect_upload
from tests.evidence import samples

MAX = 20 * 1024 * 1024


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 30) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("icc", [True, False])
def test_gps_exif_and_other_metadata_are_stripped(icc) -> None:
    original = samples.jpeg_with_metadata(icc=icc)
    assert reopen(original).getexif().get_ifd(0x8825)  # the sample really has GPS
    upload = inspect_upload(original, "table.jpg", max_bytes=MAX)
    stored = reopen(upload.data)
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert b"GPS" not in upload.data
    assert b"Exif" not in upload.data
    for secret in (b"PhoneCo", b"SecretSoftware", b"SecretComment", b"Jane Resident"):
        assert secret not in upload.data
    for key in ("exif", "xmp", "comment", "icc_profile"):
        assert key not in stored.info
    # The print rendition is as clean as the stored image.
    assert b"GPS" not in upload.print_rendition
    assert dict(reopen(upload.print_rendition).getexif()) == {}


@pytest.mark.parametrize("progressive", [False, True])
def test_an_upright_jpeg_keeps_its_pixels_exactly(progressive) -> None:
    # Only the metadata is left out: the picture is not compressed a second time.
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    original = samples.encode(
        samples.picture((200, 150)),
        "JPEG",
        quality=95,
        progressive=progressive,
        exif=exif,
        comment=b"SecretComment",
    )
    upload = inspect_upload(original, "table.jpg", max_bytes=MAX)
    assert reopen(upload.data).tobytes() == reopen(original).tobytes()
    assert b"PhoneCo" not in upload.data and b"SecretComment" not in upload.data
    assert dict(reopen(upload.data).getexif()) == {}


def test_a_second_picture_after_the_jpeg_is_dropped() -> None:
    # Phones append a second JPEG (a depth map, a preview) after the end marker, with its own
    # EXIF; none of it is stored.
    trailer = samples.jpeg_with_metadata(icc=False)
    original = samples.jpeg_bytes((80, 60)) + trailer
    upload = inspect_upload(original, "portrait.jpg", max_bytes=MAX)
    assert upload.data.endswith(b"\xff\xd9")
    assert upload.data.count(b"\xff\xd8") == 1
    assert b"PhoneCo" not in upload.data and b"GPS" not in upload.data


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_is_broken(progressive) -> None:
    data = samples.encode(samples.picture((400, 300)), "JPEG", quality=90, progressive=progressive)
    for cut in (2, 40, len(data) // 2):
        with pytest.raises(ImageBrokenError):
            reencode_image(data[: len(data) - cut], "jpeg", max_pixels=10**6)


def test_png_text_chunks_and_exif_are_stripped() -> None:
    upload = inspect_upload(samples.png_with_text_chunks(), "chart.png", max_bytes=MAX)
    stored = reopen(upload.data)
    assert stored.format == "PNG"
    assert dict(stored.getexif()) == {}
    assert b"Jane Resident" not in upload.data and b"SecretComment" not in upload.data
    for chunk in (b"eXIf", b"tEXt", b"iCCP"):
        assert chunk not in upload.data


def test_exif_orientation_is_applied() -> None:
    # Stored 40x20 red|blue with orientation 6 ("rotate 90° clockwise to display").
    upload = inspect_upload(samples.jpeg_with_orientation(6), "sideways.jpg", max_bytes=MAX)
    stored = reopen(upload.data)
    assert stored.size == (20, 40)
    assert (upload.width, upload.height) == (20, 40)
    assert close_to(stored.getpixel((10, 5)), (230, 20, 20))  # red is now on top
    assert close_to(stored.getpixel((10, 35)), (20, 20, 230))  # blue at the bottom
    assert 0x0112 not in stored.getexif()  # no orientation left to apply twice


def test_print_rendition_of_a_12_megapixel_photo() -> None:
    original = samples.photo_12mp()
    upload = inspect_upload(original, "IMG_2041.jpg", max_bytes=MAX)
    assert (upload.width, upload.height) == (4000, 3000)
    rendition = reopen(upload.print_rendition)
    assert rendition.format == "JPEG"
    # 4.8 x 3.6in on the page at 250 dpi.
    assert rendition.size == (1200, PRINT_MAX_HEIGHT) == (1200, 900)
    assert len(upload.print_rendition) * 5 < len(upload.data)
    assert len(upload.print_rendition) < 400 * 1024


def test_print_rendition_keeps_small_images_small() -> None:
    rendition = reopen(make_print_rendition(samples.picture((300, 200))))
    assert rendition.size == (300, 200)


def test_print_rendition_of_portrait_limits_the_height() -> None:
    rendition = reopen(make_print_rendition(Image.new("RGB", (1000, 3200), "white")))
    assert rendition.size == (281, PRINT_MAX_HEIGHT)


def test_print_rendition_of_a_panorama_limits_the_width() -> None:
    rendition = reopen(make_print_rendition(Image.new("RGB", (8000, 2000), "white")))
    assert rendition.size == (PRINT_MAX_WIDTH, 406)


def test_print_rendition_of_a_large_jpeg_keeps_its_picture() -> None:
    # Decoded at a reduced scale for the print copy: still the same quadrants and colours.
    upload = inspect_upload(samples.jpeg_bytes((4000, 3000)), "poster.jpg", max_bytes=MAX)
    rendition = reopen(upload.print_rendition)
    assert rendition.size == (1200, 900)
    assert close_to(rendition.getpixel((300, 225)), (220, 40, 40))
    assert close_to(rendition.getpixel((900, 225)), (40, 40, 220))
    assert close_to(rendition.getpixel((300, 675)), (40, 200, 40))


def test_print_rendition_does_not_touch_callers_image() -> None:
    image = samples.picture()
    image.info["comment"] = b"keep me"
    make_print_rendition(image)
    assert image.info["comment"] == b"keep me"


def test_jpeg_stays_jpeg_png_stays_png_webp_stays_webp() -> None:
    for make, expected in (
        (samples.jpeg_bytes, "JPEG"),
        (samples.png_bytes, "PNG"),
        (samples.webp_bytes, "WEBP"),
    ):
        assert reopen(reencode_image(make(), expected.lower(), max_pixels=10**6).data).format == (
            expected
        )


def test_heic_becomes_rgb_jpeg_with_its_colours() -> None:
    result = reencode_image(samples.heic_bytes((64, 48)), "heif", max_pixels=10**6)
    assert result.format == "jpeg"
    stored = reopen(result.data)
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (64, 48))
    assert close_to(stored.getpixel((5, 5)), (220, 40, 40), tolerance=40)


def test_cmyk_jpeg_becomes_rgb() -> None:
    stored = reopen(reencode_image(samples.cmyk_jpeg_bytes(), "jpeg", max_pixels=10**6).data)
    assert stored.mode == "RGB"
    assert close_to(stored.getpixel((5, 5)), (220, 40, 40), tolerance=40)


def test_palette_png_with_transparency_becomes_rgba() -> None:
    result = reencode_image(samples.palette_png_with_transparency(), "png", max_pixels=10**6)
    stored = reopen(result.data)
    assert stored.mode == "RGBA"
    assert 0 in stored.getchannel("A").getextrema()
    # Transparent areas print on white, not black.
    rendition = reopen(result.print_rendition)
    assert rendition.mode == "RGB"


def test_grey_alpha_png_becomes_rgba() -> None:
    stored = reopen(reencode_image(samples.png_bytes(mode="LA"), "png", max_pixels=10**6).data)
    assert stored.mode == "RGBA"


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    stored = reopen(reencode_image(samples.sixteen_bit_png(), "png", max_pixels=10**6).data)
    assert stored.mode == "L"
    assert 120 <= stored.getpixel((0, 0)) <= 135  # mid grey, not white


def test_transparent_png_prints_on_white() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rendition = reopen(make_print_rendition(image))
    assert close_to(rendition.getpixel((5, 5)), (255, 255, 255), tolerance=3)


def test_embedded_colour_profile_is_applied_then_dropped() -> None:
    data = samples.encode(
        samples.picture(), "JPEG", quality=95, icc_profile=samples.srgb_icc_profile()
    )
    stored = reopen(reencode_image(data, "jpeg", max_pixels=10**6).data)
    assert "icc_profile" not in stored.info
    assert close_to(stored.getpixel((5, 5)), (220, 40, 40))


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError):
        reencode_image(samples.bomb_png(8000, 6000), "png", max_pixels=40_000_000)


def test_pillow_bomb_error_becomes_too_large() -> None:
    # Over twice Pillow's own limit: Image.open itself refuses, before our check runs.
    with pytest.raises(ImageTooLargeError):
        reencode_image(samples.bomb_png(), "png", max_pixels=10**10)


def test_pillow_bomb_warning_becomes_too_large() -> None:
    # Between Pillow's limit (about 89 MP) and twice that: Pillow only warns, which we escalate.
    with pytest.raises(ImageTooLargeError):
        reencode_image(samples.bomb_png(10_000, 10_000), "png", max_pixels=10**10)


@pytest.mark.parametrize("source_format", ["jpeg", "png", "webp", "heif"])
def test_garbage_after_magic_bytes_is_broken(source_format) -> None:
    magic = {
        "jpeg": b"\xff\xd8\xff\xe0",
        "png": b"\x89PNG\r\n\x1a\n",
        "webp": b"RIFF\x00\x01\x00\x00WEBPVP8 ",
        "heif": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    }[source_format]
    with pytest.raises(ImageBrokenError):
        reencode_image(magic + samples.random_bytes(512), source_format, max_pixels=10**6)


def test_truncated_png_is_broken() -> None:
    data = samples.png_bytes((300, 300))
    with pytest.raises(ImageBrokenError):
        reencode_image(data[: len(data) - 40], "png", max_pixels=10**6)
