"""The ICP document: a one-page ICP and a detailed report in HTML, PDF, Markdown and JSON.

Rendering only reads result objects (the profile and what the store computed); it never computes
a statistic.
"""

from icpkit.report.render import (
    FORMATS,
    ReportInput,
    build_view,
    render,
    render_html,
    render_markdown,
    render_onepager_pdf,
)

__all__ = [
    "FORMATS",
    "ReportInput",
    "build_view",
    "render",
    "render_html",
    "render_markdown",
    "render_onepager_pdf",
]
