"""What happens to a leaked script on its way out, for the canary tests and benchmarks.

pages_of(copy, first, count)     the Fountain text of some printed pages of a copy
retype(text, rng)                a person retyping it: own line breaks and spacing,
                                 a few words in other case, ~1% typos, dropped words
merge_lines(a, b, rng)           two colluders taking each line from either copy
photograph(pdf, pages, rng)      the PDF's pages photographed: perspective, blur,
                                 uneven light, noise, JPEG
pdf_pages(pdf, pages)            a PDF of only those pages (text copied out of a few)
"""

from __future__ import annotations

import io
import string

import cv2
import numpy as np

from watermark.script import lay_out

__all__ = ["merge_lines", "pages_of", "pdf_pages", "photograph", "retype"]


def pages_of(text: str, first: int, count: int) -> str:
    """The source text of printed pages first .. first + count - 1 (1-based)."""
    starts = lay_out(text).page_starts
    begin = starts[first - 1]
    end = starts[first - 1 + count] if first - 1 + count < len(starts) else len(text)
    return text[begin:end]


def retype(text: str, rng: np.random.Generator, typos: float = 0.01, drops: float = 0.005) -> str:
    """The text as someone retyping it would produce it."""
    words = text.split()
    out = []
    for word in words:
        if rng.random() < drops:
            continue
        if rng.random() < typos:
            word = _typo(word, rng)
        if rng.random() < 0.02:
            word = word.upper() if rng.random() < 0.5 else word.lower()
        out.append(word)
    # Own line breaks: reflowed at a random width, some paragraphs joined.
    width = int(rng.integers(50, 100))
    lines, current = [], ""
    for word in out:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\n".join(lines) + "\n"


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 2:
        return word
    i = int(rng.integers(len(word)))
    kind = rng.integers(3)
    if kind == 0:  # a wrong letter
        return word[:i] + rng.choice(list(string.ascii_lowercase)) + word[i + 1 :]
    if kind == 1:  # a missing letter
        return word[:i] + word[i + 1 :]
    j = min(i + 1, len(word) - 1)  # two letters swapped
    return word[:i] + word[j] + word[i] + word[j + 1 :] if j > i else word


def merge_lines(a: str, b: str, rng: np.random.Generator) -> str:
    """Two copies merged line by line (they have the same lines: variants never add any)."""
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    if len(la) != len(lb):
        raise ValueError("copies of one script have the same number of lines")
    return "".join(x if rng.random() < 0.5 else y for x, y in zip(la, lb, strict=True))


def photograph(pdf: bytes, pages: list[int], rng: np.random.Generator) -> list[bytes]:
    """JPEG photos of the given PDF pages (1-based), as a phone would take them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        shots = []
        for number in pages:
            page = document[number - 1]
            # About a 12-megapixel phone frame filled by the page.
            image = np.asarray(page.render(scale=200 / 72).to_pil().convert("L"))
            shots.append(_camera(image, rng))
        return shots
    finally:
        document.close()


def pdf_pages(pdf: bytes, pages: list[int]) -> bytes:
    """A PDF holding only the given pages (1-based) of `pdf`."""
    from pypdf import PdfReader, PdfWriter

    reader, writer = PdfReader(io.BytesIO(pdf)), PdfWriter()
    for number in pages:
        writer.add_page(reader.pages[number - 1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _camera(page: np.ndarray, rng: np.random.Generator) -> bytes:
    pad = int(0.06 * page.shape[1])
    canvas = cv2.copyMakeBorder(page, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=90)
    H, W = canvas.shape
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    jitter = rng.uniform(-0.03, 0.03, size=(4, 2)) * [W, H]
    dst = np.float32(src + jitter)
    warped = cv2.warpPerspective(
        canvas, cv2.getPerspectiveTransform(src, dst), (W, H), borderValue=90
    )
    # Light falling off across the page, focus blur, sensor noise.
    yy, xx = np.mgrid[0:H, 0:W]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = 1.0 - 0.25 * ((np.cos(angle) * xx / W + np.sin(angle) * yy / H) % 1.0)
    lit = warped.astype(np.float32) * ramp
    blurred = cv2.GaussianBlur(lit, (0, 0), sigmaX=rng.uniform(0.6, 1.2))
    noisy = blurred + rng.normal(0, 4.0, blurred.shape)
    photo = np.clip(noisy, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 90))])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return io.BytesIO(jpeg.tobytes()).getvalue()
