"""Text out of a picture of a page: Tesseract, after the clean-up a photograph needs.

A phone photo of a script page is small, tilted, unevenly lit and soft. Before Tesseract
sees it: greyscale, enlarged until body text is about 30 pixels high (Tesseract's sweet
spot, about 300 dpi for a Letter page), straightened by the angle of the text block, and
binarised with a local threshold so a shadow across the page does not swallow a line.
The light grey diagonal name on a recipient's copy falls below the threshold and is gone,
which is what we want: the text read here is the script, the name is reported elsewhere.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from detect.errors import DetectError

__all__ = ["ocr_image"]

_TARGET_WIDTH = 2550  # a Letter page at 300 dpi
_MIN_SIDE = 32  # px: smaller holds no readable line
_MAX_SIDE = 20  # the longest side may be at most this many times the shortest
_MAX_PIXELS_SIDE = 30000  # Tesseract refuses images with a side much beyond this


def ocr_image(image: Image.Image) -> str:
    """The text Tesseract reads in the image (English, one column of varying indents)."""
    import pytesseract

    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError) as err:
        raise DetectError(
            "reading an image needs the Tesseract OCR engine, which is not installed",
            "install the Debian package tesseract-ocr",
        ) from err
    grey = np.asarray(image.convert("L"))
    if min(grey.shape) < _MIN_SIDE or max(grey.shape) > _MAX_SIDE * max(1, min(grey.shape)):
        raise DetectError(
            f"a {grey.shape[1]}x{grey.shape[0]} picture is not a photographed page",
            "give a photo or scan of the page itself",
        )
    page = _prepare(grey)
    # psm 4: a single column of text of variable sizes, which is what a script page is.
    try:
        return pytesseract.image_to_string(Image.fromarray(page), lang="eng", config="--psm 4")
    except (pytesseract.TesseractError, RuntimeError) as err:
        raise DetectError(f"OCR failed on the picture ({err})", "give a clearer photo") from err


def _prepare(grey: np.ndarray) -> np.ndarray:
    # Enlarge towards 300 dpi, but never past what Tesseract accepts for a tall strip.
    scale = min(_TARGET_WIDTH / grey.shape[1], _MAX_PIXELS_SIDE / max(grey.shape))
    if scale > 1.2 or scale < 0.6:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    grey = _deskew(grey)
    block = max(31, (grey.shape[1] // 40) | 1)
    return cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 15
    )


def _deskew(grey: np.ndarray) -> np.ndarray:
    """Rotate by the tilt of the ink's bounding rectangle, when it is small but real."""
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    points = cv2.findNonZero(ink)
    if points is None or len(points) < 100:
        return grey
    angle = cv2.minAreaRect(points)[2]
    if angle > 45:
        angle -= 90
    if abs(angle) < 0.3 or abs(angle) > 10:
        return grey
    h, w = grey.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(
        grey, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
