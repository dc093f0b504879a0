"""An invoice as JSON, CSV, HTML (Jinja2, autoescaped) and PDF (WeasyPrint, from the HTML).

The PDF is made with a URL fetcher that refuses every fetch: an invoice is self-contained, and
a description holding a licensee-given name must never make the renderer reach the network.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from tollhouse.billing.views import InvoiceView
from tollhouse.errors import InvalidInput

Format = Literal["html", "pdf", "json", "csv"]
FORMATS: tuple[str, ...] = ("html", "pdf", "json", "csv")
CSV_COLUMNS = (
    "description", "service_period_start", "service_period_end", "quantity", "unit_price",
    "amount", "corrects",
)  # fmt: skip

_env = Environment(
    loader=PackageLoader("tollhouse.billing", "templates"),
    autoescape=select_autoescape(["html"]),
)


def to_json(invoice: InvoiceView) -> bytes:
    return orjson.dumps(invoice.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"


def to_csv(invoice: InvoiceView) -> bytes:
    """One row per line, then subtotal, credits applied and total as rows of their own."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    data = invoice.to_dict()
    for line in data["lines"]:
        writer.writerow(line)
    for name in ("subtotal", "credits_applied", "total"):
        writer.writerow({"description": name, "amount": data[name]})
    return out.getvalue().encode()


def to_html(invoice: InvoiceView) -> bytes:
    return _env.get_template("invoice.html").render(inv=invoice.to_dict()).encode()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"invoice rendering fetches nothing ({url})")


def to_pdf(invoice: InvoiceView) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only PDFs need

    pdf = HTML(string=to_html(invoice).decode(), url_fetcher=_no_fetch).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def render(invoice: InvoiceView, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(invoice)
    if fmt == "csv":
        return to_csv(invoice)
    if fmt == "html":
        return to_html(invoice)
    if fmt == "pdf":
        return to_pdf(invoice)
    raise InvalidInput(f"unknown format {fmt!r} (html, pdf, json or csv)")
