"""PDF articles: the text layer of every page (pypdf); a scanned PDF without one is an error."""

from __future__ import annotations

from core.records import Article
from ingest.clean import clean_text
from ingest.formats.meta import one_line


def extract_pdf(data: bytes) -> tuple[str, str, str]:
    """(text, title, author) of a PDF. Raises ValueError for encrypted, broken or image-only PDFs."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted PDF (a password is needed)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except (PdfReadError, PyPdfError) as e:
        raise ValueError(f"unreadable PDF: {e}") from e
    except (KeyError, TypeError, AttributeError, RecursionError) as e:
        raise ValueError(f"unreadable PDF: {type(e).__name__}: {e}") from e
    text = clean_text("\n\n".join(pages))
    if not text:
        raise ValueError("no text found in PDF (a scanned PDF needs OCR first)")
    title = one_line(meta.title if meta else "") or text.split("\n", 1)[0][:200]
    return text, title, one_line(meta.author if meta else "")


def pdf_article(data: bytes, *, id: str, url: str, origin: str, source: str = "") -> Article:
    text, title, author = extract_pdf(data)
    return Article(id=id, text=text, title=title, url=url, source=source, author=author, origin=origin)

