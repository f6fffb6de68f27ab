"""Generated uploads: photos, HEIC pictures and PDFs that compress like real ones.

Nothing is downloaded. A photo is a smooth scene (colour patches and a gradient) with detail at
the scale a 1600-pixel print copy keeps and fine sensor noise on top: a 12-megapixel one is
about 6 MB at JPEG quality 92 (as phones save them) and its print copy about 600 KB. A PDF is a
scanned document: grey pages of text-like lines, about 220 KB a page.
"""

from __future__ import annotations

import csv
import io
import random
from functools import cached_property

import pillow_heif
from PIL import Image, ImageChops, ImageDraw
from pypdf import PdfWriter

PHOTO_12MP = (4000, 3000)
PHONE_JPEG_QUALITY = 92
HEIC_QUALITY = 50
# How much each layer weighs in a photo: the print-scale detail, then the sensor noise.
_DETAIL_WEIGHT = 0.45
_NOISE_WEIGHT = 0.08
_SCAN_PAGE = (1275, 1650)  # US letter at 150 dpi
_SCAN_NOISE_WEIGHT = 0.01


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


class PhotoMaker:
    """Distinct photo-like pictures of one size; ``photo(i)`` is the same bytes for the same i."""

    def __init__(self, size: tuple[int, int] = PHOTO_12MP, seed: int = 13) -> None:
        self.size = size
        self.seed = seed

    @cached_property
    def _layers(self) -> tuple[Image.Image, Image.Image]:
        """Detail (random colour at a third of the size, enlarged) and noise (at full size)."""
        rng = random.Random(self.seed)
        width, height = self.size
        noise = Image.frombytes("RGB", self.size, rng.randbytes(width * height * 3))
        small = (max(1, width // 3), max(1, height // 3))
        detail = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
        return detail.resize(self.size, Image.Resampling.BICUBIC), noise

    def image(self, index: int) -> Image.Image:
        rng = random.Random(self.seed * 1000 + index)
        patches = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
        scene = Image.blend(
            patches.resize(self.size, Image.Resampling.BICUBIC),
            Image.linear_gradient("L").rotate(index * 37 % 360).resize(self.size).convert("RGB"),
            0.4,
        )
        detail, noise = self._layers
        # Shifted layers make each picture different where a print copy can see it.
        picture = Image.blend(
            scene, ImageChops.offset(detail, 97 * index, 61 * index), _DETAIL_WEIGHT
        )
        return Image.blend(
            picture, ImageChops.offset(noise, 131 * index, 17 * index), _NOISE_WEIGHT
        )

    def photo(self, index: int) -> bytes:
        """A JPEG as a phone saves it."""
        return encode(self.image(index), "JPEG", quality=PHONE_JPEG_QUALITY)

    def heic(self, index: int) -> bytes:
        """The same picture as an HEIC (about 4 MB at 12 MP, as phones save them).

        x265's fastest preset: its default takes some twenty seconds for one 12 MP picture.
        """
        buffer = io.BytesIO()
        pillow_heif.from_pillow(self.image(index)).save(
            buffer, quality=HEIC_QUALITY, enc_params={"preset": "ultrafast"}
        )
        return buffer.getvalue()


def scanned_pdf(pages: int = 10, seed: int = 7) -> bytes:
    """A scanned document: grey pages of text-like lines with a little noise, JPEG in a PDF."""
    rng = random.Random(seed)
    width, height = _SCAN_PAGE
    noise = Image.frombytes("L", _SCAN_PAGE, rng.randbytes(width * height))
    images = []
    for number in range(pages):
        page = Image.new("L", _SCAN_PAGE, 238)
        draw = ImageDraw.Draw(page)
        for top in range(150, height - 150, 30):
            left = 120
            while left < width - 120:
                word = rng.randint(20, 90)
                draw.rectangle(
                    (left, top, min(left + word, width - 120), top + 14), fill=rng.randint(20, 70)
                )
                left += word + 12
        shifted = ImageChops.offset(noise, 37 * number, 11 * number)
        images.append(Image.blend(page, shifted, _SCAN_NOISE_WEIGHT))
    return encode(images[0], "PDF", save_all=True, append_images=images[1:], resolution=150)


def blank_pdf(pages: int = 1) -> bytes:
    """A small PDF of blank letter pages (a flyer, where its weight does not matter)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def survey_csv(rows: int = 20) -> bytes:
    """A small survey export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["respondent", "neighborhood", "walk_minutes", "language"])
    for number in range(rows):
        writer.writerow([number + 1, f"District {number % 5 + 1}", 5 + number % 20, "Spanish"])
    return buffer.getvalue().encode()
