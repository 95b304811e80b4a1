"""Uploaded pictures: every bad file ends in a sentence, and no small file costs much memory."""

from __future__ import annotations

import io
import resource
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from ui.images import read_image


def png(image: Image.Image, **info) -> bytes:
    buffer = io.BytesIO()
    meta = PngImagePlugin.PngInfo()
    for key, value in info.items():
        meta.add_text(key, value, zip=True)
    image.save(buffer, format="PNG", pnginfo=meta)
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with a few bytes of data (a 'bomb')."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


NOISY = png(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)))


def test_a_good_picture_becomes_the_model_input():
    pixels = read_image(png(Image.new("L", (40, 30), color=255)), 8, 8)
    assert pixels.shape == (8, 8) and pixels.dtype == np.float32
    assert np.allclose(pixels, 1.0)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"just some text, named picture.png", "not a picture"),
        (NOISY[: len(NOISY) // 2], "damaged or truncated"),
        (png(Image.new("L", (8, 8)), note="x" * 30_000_000), "damaged or truncated"),
        (header_only_png(30_000, 30_000), "too large"),
        (header_only_png(13_000, 13_000), "too large"),
        (header_only_png(5_000, 5_000), "5,000 x 5,000 pixels"),
    ],
    ids=[
        "empty",
        "text",
        "truncated",
        "huge-text-chunk",
        "900-megapixel",
        "169-megapixel",
        "25-megapixel",
    ],  # fmt: skip
)
def test_every_bad_file_ends_in_a_sentence(data, words):
    with pytest.raises(ValueError, match=words):
        read_image(data, 28, 28)


def test_a_small_file_claiming_a_huge_picture_costs_no_memory():
    data = png(Image.new("1", (13_000, 13_000)))  # a real 13000 x 13000 PNG, ~20 KB
    assert len(data) < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="too large"):
        read_image(data, 8, 8)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"reading it took {grown_mb:.0f} MB more"
