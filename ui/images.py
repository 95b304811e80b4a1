"""An uploaded picture as a model's input, read safely: every bad file ends in a sentence.

Pillow reads an image's size from its header without decoding it, so a picture is refused by
its pixel count before any pixel is decoded (a 657 KB PNG of 13000 x 13000 pixels would take
about 700 MB decoded); JPEGs are decoded straight at a reduced size (`draft`).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE


def read_image(data: bytes, height: int, width: int) -> np.ndarray:
    """Grey levels in [0, 1] of shape (height, width). Raises ValueError with what is wrong:
    empty, not an image, too large, damaged or truncated."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValueError("The file is empty: upload a PNG or JPEG picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                columns, rows = image.size
                if columns * rows > MAX_PIXELS:
                    raise _too_large(columns, rows)
                image.draft("L", (width * 4, height * 4))  # JPEG: decode small already
                grey = image.convert("L").resize((width, height), Image.Resampling.LANCZOS)
    except UnidentifiedImageError:
        raise ValueError(
            "This file is not a picture this page can read: upload a PNG or JPEG image."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(
            "This picture is too large to read here: use one of at most "
            f"{MAX_SIDE} x {MAX_SIDE} pixels."
        ) from None
    except _PictureTooLarge as err:
        raise ValueError(str(err)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        # Pillow's words for a damaged file: truncated data, a broken chunk, a text chunk
        # too large to decompress...
        raise ValueError(
            f"This picture is damaged or truncated and cannot be read ({err}). Save it again "
            "as PNG or JPEG and upload that."
        ) from None
    return np.asarray(grey, dtype=np.float32) / 255.0


class _PictureTooLarge(Exception):
    pass


def _too_large(columns: int, rows: int) -> _PictureTooLarge:
    return _PictureTooLarge(
        f"This picture is {columns:,} x {rows:,} pixels: the most this page reads is "
        f"{MAX_SIDE} x {MAX_SIDE} ({MAX_PIXELS / 1e6:.0f} megapixels). Scale it down first."
    )
