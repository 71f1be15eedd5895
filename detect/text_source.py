"""A suspect's text, whatever it came as: plain text, a PDF, or a picture of a page.

The kind is told by content, not by name: `%PDF` is a PDF, anything Pillow can open is an
image, the rest must be text. A PDF's own text layer is used when it has one; a scanned PDF
(no text layer) is rendered with pdfium and read by OCR, as a photo is.

Recipients' copies carry a visible name and a footer with the copy id. They are parsed out
as *claims*, reported but never trusted (anyone can type a footer), and removed from the
text together with page numbers, so that the alignment sees only the script.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

from detect.errors import DetectError
from detect.ocr import ocr_image

__all__ = ["Claims", "SuspectText", "read_text"]

_FOOTER = re.compile(
    r"copy\s*(?:id)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{2,})\W{0,6}issued\s+to\s+(.+?)\s*$",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"^\s*\d{1,3}\s*\.?\s*$")
_MIN_WORDS_PER_PAGE = 20  # fewer extracted words than this: a scan, not a text layer
_OCR_DPI = 300


@dataclass(frozen=True)
class Claims:
    """What the document says about itself: visible marks, unverified."""

    recipient: str | None = None
    copy_id: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"recipient": self.recipient, "copy_id": self.copy_id}


@dataclass(frozen=True)
class SuspectText:
    """The text of a suspect file and how it was obtained."""

    text: str
    source: str  # "text", "pdf-text", "pdf-ocr" or "image-ocr"
    pages: int = 1
    claims: Claims = field(default_factory=Claims)
    note: str = ""

    @property
    def ocr(self) -> bool:
        return self.source.endswith("ocr")


def read_text(data: bytes, name: str = "") -> SuspectText:
    """The text of a suspect file (PDF, page image or text), with its visible claims."""
    label = name or "the file"
    if not data.strip():
        raise DetectError(f"{label} is empty", "pass the leaked script, PDF or page image")
    if data.lstrip()[:5] == b"%PDF-":
        return _from_pdf(data, label)
    image = _open_image(data)
    if image is not None:
        pages = [ocr_image(image)]
        return _finish(pages, "image-ocr", label)
    return _from_bytes(data, label)


def _open_image(data: bytes):  # -> PIL.Image.Image | None
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as err:
        raise DetectError(
            "the image is too large to be a photographed page", "crop it to the page"
        ) from err
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return image


def _from_pdf(data: bytes, label: str) -> SuspectText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    # pypdf raises NotImplementedError for a filter it does not know (a damaged stream)
    except (PdfReadError, ValueError, KeyError, OSError, NotImplementedError) as err:
        raise DetectError(f"{label} is not a readable PDF ({err})") from err
    words = sum(len(page.split()) for page in pages)
    if pages and words >= _MIN_WORDS_PER_PAGE * len(pages) / 4:
        return _finish(pages, "pdf-text", label)
    return _finish(
        _ocr_pdf(data, label), "pdf-ocr", label, "the PDF has no text layer: read by OCR"
    )


def _ocr_pdf(data: bytes, label: str) -> list[str]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise DetectError(f"{label} is not a readable PDF ({err})") from err
    try:
        return [ocr_image(page.render(scale=_OCR_DPI / 72).to_pil()) for page in document]
    except pdfium.PdfiumError as err:
        raise DetectError(f"{label} has a page that cannot be rendered ({err})") from err
    finally:
        document.close()


def _from_bytes(data: bytes, label: str) -> SuspectText:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _finish([data.decode("utf-16")], "text", label)
    try:
        return _finish([data.decode("utf-8-sig")], "text", label)
    except UnicodeDecodeError:
        pass
    # Text saved by an old Windows editor is Windows-1252; binary data is not text at all.
    controls = sum(b < 32 and b not in b"\t\n\r\f" for b in data)
    if controls > len(data) // 200:
        raise DetectError(
            f"{label} is neither a PDF, an image nor text",
            "pass the leaked script as UTF-8 text, a PDF or a page image (PNG/JPEG)",
        )
    return _finish(
        [data.decode("cp1252", errors="replace")],
        "text",
        label,
        "not UTF-8: decoded as Windows-1252",
    )


def _finish(pages: list[str], source: str, label: str, note: str = "") -> SuspectText:
    claims = _claims(pages)
    cleaned = [_strip_marks(page, claims) for page in pages]
    text = "\n".join(cleaned)
    if len(re.findall(r"[A-Za-z]{2,}", text)) < 3:
        what = "no text could be read in" if source.endswith("ocr") else "there is no text in"
        raise DetectError(f"{what} {label}", "pass a legible page, a PDF or the text itself")
    return SuspectText(text, source, len(pages), claims, note)


def _claims(pages: list[str]) -> Claims:
    """The footer's copy id and recipient; else a line opening most pages (the diagonal
    name, which a PDF's text layer gives first because it is drawn first)."""
    for page in pages:
        for line in page.splitlines():
            m = _FOOTER.search(line)
            if m:
                return Claims(recipient=m.group(2).strip(" |"), copy_id=m.group(1))
    firsts = Counter(p.strip().splitlines()[0].strip() for p in pages if p.strip())
    if len(pages) > 1 and firsts:
        line, count = firsts.most_common(1)[0]
        if count >= 0.6 * len(pages) and line.isupper() and len(line.split()) <= 5:
            return Claims(recipient=line.title())
    return Claims()


def _strip_marks(page: str, claims: Claims) -> str:
    name = (claims.recipient or "").upper()
    kept = []
    for line in page.splitlines():
        bare = line.strip()
        if _FOOTER.search(bare) or _PAGE_NUMBER.match(bare):
            continue
        if name and bare.upper() == name:
            continue
        if bare.upper().startswith("CONFIDENTIAL") and "COPY" in bare.upper():
            continue
        kept.append(line)
    return "\n".join(kept)
