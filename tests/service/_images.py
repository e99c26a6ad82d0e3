"""Checks that image bytes are real pictures: the right format and size, and not blank."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
from matplotlib import image as mpimg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_pixels(data: bytes) -> np.ndarray:
    """The decoded RGBA pixels (height x width x 4, floats in [0, 1])."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    pixels: np.ndarray = mpimg.imread(io.BytesIO(data), format="png")
    return pixels


def assert_png(data: bytes, width: int, height: int) -> np.ndarray:
    """A PNG of this pixel size with real content (colour variance, not one flat fill)."""
    pixels = png_pixels(data)
    assert pixels.shape[:2] == (height, width)
    rgb = pixels[..., :3]
    assert float(rgb.std()) > 0.05, "the image is (nearly) blank"
    assert len(np.unique(rgb.reshape(-1, 3).round(2), axis=0)) > 20, "too few colours"
    return pixels


def assert_svg(data: bytes) -> ET.Element:
    """Well-formed SVG with drawn content."""
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 10
    return root
