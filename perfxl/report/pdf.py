"""Report .docx → PDF with headless LibreOffice, Chinese official fonts mapped.

:func:`docx_to_pdf_bytes` is the one entry: this process's LibreOffice (:mod:`.converter`,
kept alive between files) with the environment of :mod:`.soffice` (its own profile, fontconfig
aliases so 仿宋, 小标宋, 黑体 and 楷体 stay four faces).  The PDF is written atomically by the
caller (:func:`perfxl.report.render_report`).
"""
from __future__ import annotations

from .converter import Converter, close_shared, shared  # noqa: F401 (pdf.Converter, pdf.shared)
from .soffice import (  # noqa: F401 (re-exported: pdf.find_soffice, pdf.environment, …)
    ALIASES,
    BOLD_FACES,
    SYSTEM_FONTS_CONF,
    environment,
    find_soffice,
    fonts_conf,
)


def docx_to_pdf_bytes(docx: bytes, *, timeout: float | None = None) -> bytes:
    """Convert a .docx (bytes) to PDF bytes with this process's LibreOffice
    (:func:`perfxl.report.converter.shared`: started on first use, kept for the next files).

    Raises :class:`~perfxl.errors.PerfxlError` (Chinese) when LibreOffice is missing, times
    out, dies or produces nothing.
    """
    return shared().convert(docx, timeout=timeout)
