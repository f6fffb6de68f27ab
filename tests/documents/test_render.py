"""The PDF rendering service: metadata, language, bundled fonts, tagging and the URL fetcher."""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from pypdf import PdfReader

from sct_forms.documents import render
from sct_forms.documents.render import (
    EVIDENCE_URL_SCHEME,
    PdfResources,
    ResourceRefusedError,
    render_html,
    render_pdf,
    url_fetcher_for,
)
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import Evidence
from tests.evidence.samples import jpeg_bytes, png_bytes
from tests.storage_helpers import delete_stored
from tests.toolkit_helpers import make_toolkit

QUESTION = "¿Qué pasó en la reunión? Año"

# A two-page Spanish document on the base template: a heading per page, a table, a status mark.
SPANISH_TEMPLATE = """\
{% extends "pdf/base.html" %}
{% block lang %}es{% endblock %}
{% block title %}Paquete de prueba: Windham{% endblock %}
{% block author %}Town of Windham{% endblock %}
{% block content %}
<h1>¿Qué pasó en la reunión? Año</h1>
<p>Ñandú, pingüino, acción, ¡hola! — “citas” de Łukasz Dvořák.</p>
<p><em>cursiva</em>, <strong>negrita</strong> y <strong><em>ambas</em></strong>.</p>
<table>
  <caption>Reuniones</caption>
  <thead><tr><th>Fecha</th><th>Personas</th></tr></thead>
  <tbody><tr><td>2026-03-04</td><td>42</td></tr></tbody>
</table>
<h2 class="page-break-before">Segunda parte</h2>
<p>Lo que cambió.</p>
{% endblock %}
"""

# Puts caller-supplied markup into the head and the body, to try URLs the fetcher must judge.
PROBE_TEMPLATE = """\
{% extends "pdf/base.html" %}
{% block title %}Probe{% endblock %}
{% block stylesheets %}{{ head|safe }}{% endblock %}
{% block content %}<h1>Probe</h1>{{ body|safe }}{% endblock %}
"""


@pytest.fixture
def templates(app: Flask, tmp_path: Path) -> Callable[[str, str], str]:
    """Write a template into a temporary folder the app also loads from; returns its name."""
    folder = tmp_path / "test-templates"
    folder.mkdir()
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(folder)), app.jinja_loader])

    def write(name: str, source: str) -> str:
        (folder / name).write_text(source, encoding="utf-8")
        return name

    return write


@pytest.fixture
def spanish(templates) -> str:
    return templates("spanish.html", SPANISH_TEMPLATE)


@pytest.fixture
def probe(templates) -> str:
    return templates("probe.html", PROBE_TEMPLATE)


def add_image_evidence(toolkit, user, *, with_print: bool = False) -> Evidence:
    """An image evidence row with its files in storage, as an upload would leave it."""
    data = png_bytes((40, 30))
    evidence = Evidence(
        toolkit=toolkit,
        municipality_id=toolkit.municipality_id,
        step_key="engagement",
        title="Workshop",
        alt_text="Residents at the workshop",
        people_consented=True,
        kind="image",
        mime_type="image/png",
        display_name="workshop.png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_name=storage.store(data),
        print_storage_name=storage.store(jpeg_bytes((40, 30))) if with_print else None,
        width=40,
        height=30,
        uploaded_by_id=user.id,
    )
    db.session.add(evidence)
    db.session.commit()
    return evidence


@pytest.fixture
def own_evidence(town, cycle, catalog, staff_user) -> Evidence:
    toolkit = make_toolkit(town, cycle, catalog["1.1"], staff_user)
    return add_image_evidence(toolkit, staff_user, with_print=True)


@pytest.fixture
def other_town_evidence(other_town, cycle, catalog, other_staff_user) -> Evidence:
    toolkit = make_toolkit(other_town, cycle, catalog["1.1"], other_staff_user)
    return add_image_evidence(toolkit, other_staff_user)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def page_text(page) -> str:  # noqa: ANN001
    # WeasyPrint keeps the no-break spaces of "Page X of Y" from print.css.
    return page.extract_text().replace("\xa0", " ")


def font_names(reader: PdfReader) -> set[str]:
    """BaseFont names of every font used on every page, without the subset prefix."""
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def image_count(reader: PdfReader) -> int:
    count = 0
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        for xobject in xobjects.values():
            if xobject.get_object()["/Subtype"] == "/Image":
                count += 1
    return count


def refusal_messages(caplog, app: Flask) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == app.logger.name and record.levelno == logging.WARNING
    ]


# --- The document ---------------------------------------------------------------------------


def test_pdf_keeps_spanish_text_metadata_language_and_page_numbers(app, town, spanish):
    reader = read(render_pdf(spanish, municipality_id=town.id, status_mark="BORRADOR — no enviado"))

    assert len(reader.pages) == 2
    first, second = (page_text(page) for page in reader.pages)
    assert QUESTION in first
    assert "Ñandú, pingüino, acción, ¡hola! — “citas” de Łukasz Dvořák." in first
    assert "Segunda parte" in second
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    # The status mark is in the running header of every page, in plain text.
    assert "BORRADOR — NO ENVIADO · Paquete de prueba: Windham" in second
    assert reader.metadata.title == "Paquete de prueba: Windham"
    assert reader.metadata.author == "Town of Windham"
    assert reader.trailer["/Root"]["/Lang"] == "es"
    # Headings are the PDF's bookmarks: h1 at the top, h2 under it.
    top, children = reader.outline
    assert top.title == QUESTION
    assert [child.title for child in children] == ["Segunda parte"]


def test_pdf_embeds_only_the_bundled_font(app, spanish):
    reader = read(render_pdf(spanish, municipality_id=None))

    names = font_names(reader)
    # Regular, bold, italic and bold italic all come from static/fonts: no machine font
    # stood in for any of them (a fallback would show up here as DejaVu or Liberation).
    assert names == {"Noto-Sans", "Noto-Sans-Bold", "Noto-Sans-Italic", "Noto-Sans-Bold-Italic"}
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"], "font is not embedded"


def test_default_variant_is_tagged_pdf_ua(app, spanish):
    reader = read(render_pdf(spanish, municipality_id=None))

    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    xmp = catalog["/Metadata"].get_object().get_data()
    assert b"pdfuaid" in xmp


def test_no_variant_makes_an_untagged_pdf(app, spanish):
    reader = read(render_pdf(spanish, municipality_id=None, pdf_variant=None))

    assert "/StructTreeRoot" not in reader.trailer["/Root"]
    assert reader.metadata.title == "Paquete de prueba: Windham"


def test_qpdf_finds_no_errors(app, spanish, tmp_path):
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.fail("qpdf is not installed: apt-get install qpdf (it checks the PDF's structure)")
    target = tmp_path / "document.pdf"
    target.write_bytes(render_pdf(spanish, municipality_id=None))

    result = subprocess.run(  # noqa: S603 - fixed program and our own file
        [qpdf, "--check", str(target)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_render_html_is_the_html_the_pdf_is_made_from(app, spanish, monkeypatch):
    seen: list[str] = []
    real_html = render.weasyprint.HTML

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(kwargs["string"])
        return real_html(*args, **kwargs)

    monkeypatch.setattr(render.weasyprint, "HTML", spy)
    render_pdf(spanish, municipality_id=None, pdf_variant=None)

    html = render_html(spanish)
    assert seen == [html]
    assert '<html lang="es">' in html
    assert "/static/css/print.css" in html


def test_renders_inside_a_request_as_well(app, spanish):
    with app.test_request_context("/"):
        reader = read(render_pdf(spanish, municipality_id=None, pdf_variant=None))

    assert font_names(reader) >= {"Noto-Sans"}


def test_lang_defaults_to_the_current_locale(app, probe):
    html = render_html(probe, head="", body="")

    assert '<html lang="en">' in html


# --- The URL fetcher: what a document may load ----------------------------------------------


def test_own_town_evidence_is_embedded(app, town, own_evidence, probe, caplog):
    body = (
        f'<img src="{EVIDENCE_URL_SCHEME}{own_evidence.storage_name}" alt="Workshop">'
        f'<img src="{EVIDENCE_URL_SCHEME}{own_evidence.print_storage_name}" alt="Workshop">'
    )

    reader = read(render_pdf(probe, municipality_id=town.id, head="", body=body))

    assert image_count(reader) == 2
    assert refusal_messages(caplog, app) == []


def test_static_files_are_served_from_the_static_folder(app):
    body, mime_type = PdfResources(None).load("https://sct-forms.invalid/static/css/print.css")

    assert body == (Path(app.static_folder) / "css" / "print.css").read_bytes()
    assert mime_type.startswith("text/css")


REFUSED = [
    pytest.param('<img src="file:///etc/passwd" alt="x">', "file:///etc/passwd", id="file"),
    pytest.param(
        '<img src="http://127.0.0.1:9/x.png" alt="x">', "http://127.0.0.1:9/x.png", id="loopback"
    ),
    pytest.param(
        '<img src="http://localhost/static/css/print.css" alt="x">',
        "http://localhost/static/css/print.css",
        id="own-host",
    ),
    pytest.param(
        '<link rel="stylesheet" href="https://example.org/x.css">',
        "https://example.org/x.css",
        id="https-stylesheet",
    ),
    pytest.param(
        '<style>@import url("https://example.org/imported.css");</style>',
        "https://example.org/imported.css",
        id="css-import",
    ),
    pytest.param(
        '<div style="background-image: url(file:///etc/hostname)">x</div>',
        "file:///etc/hostname",
        id="css-background",
    ),
    pytest.param(
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="x">', "data:image/png", id="data"
    ),
    pytest.param(
        '<img src="/static/../sct_forms/config.py" alt="x">', "sct_forms/config.py", id="dotdot"
    ),
    pytest.param(
        '<img src="/static/%2e%2e/sct_forms/config.py" alt="x">',
        "/static/%2e%2e/sct_forms/config.py",
        id="encoded-dotdot",
    ),
    pytest.param(
        '<img src="/static/..%2fsct_forms%2fconfig.py" alt="x">',
        "/static/..%2fsct_forms%2fconfig.py",
        id="encoded-slash",
    ),
    pytest.param(
        f'<img src="{EVIDENCE_URL_SCHEME}{"A" * 43}" alt="x">',
        f"{EVIDENCE_URL_SCHEME}{'A' * 43}",
        id="unknown-evidence",
    ),
    pytest.param(
        f'<img src="{EVIDENCE_URL_SCHEME}../../config.py" alt="x">',
        f"{EVIDENCE_URL_SCHEME}../../config.py",
        id="evidence-path",
    ),
]


@pytest.mark.parametrize(("markup", "logged"), REFUSED)
def test_refused_urls_are_left_out_and_logged(app, town, probe, caplog, markup, logged):
    head, body = (markup, "") if markup.startswith(("<link", "<style")) else ("", markup)

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        reader = read(render_pdf(probe, municipality_id=town.id, head=head, body=body))

    assert image_count(reader) == 0
    messages = refusal_messages(caplog, app)
    assert any(logged in message for message in messages), messages
    # The document itself still renders with its stylesheet and fonts.
    assert "Probe" in page_text(reader.pages[0])
    names = font_names(reader)
    assert "Noto-Sans-Bold" in names
    assert all(name.startswith("Noto-Sans") for name in names), names


def test_other_towns_evidence_is_refused(app, town, other_town_evidence, probe, caplog):
    url = f"{EVIDENCE_URL_SCHEME}{other_town_evidence.storage_name}"

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        reader = read(
            render_pdf(probe, municipality_id=town.id, head="", body=f'<img src="{url}" alt="x">')
        )

    assert image_count(reader) == 0
    messages = refusal_messages(caplog, app)
    assert any(url in message and "another town" in message for message in messages), messages


def test_a_document_of_no_town_gets_no_evidence(app, own_evidence):
    with pytest.raises(ResourceRefusedError):
        PdfResources(None).load(f"{EVIDENCE_URL_SCHEME}{own_evidence.storage_name}")


def test_evidence_scheme_is_case_insensitive_for_the_town_check(app, town, other_town_evidence):
    with pytest.raises(ResourceRefusedError, match="another town"):
        PdfResources(town.id).load(f"EVIDENCE:{other_town_evidence.storage_name}")


def test_evidence_file_missing_from_storage_is_refused(app, town, own_evidence):
    delete_stored("evidence", own_evidence.storage_name)

    with pytest.raises(ResourceRefusedError, match="missing"):
        PdfResources(town.id).load(f"{EVIDENCE_URL_SCHEME}{own_evidence.storage_name}")


@pytest.mark.parametrize(
    "url",
    [
        "https://sct-forms.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "https://sct-forms.invalid/static//etc/passwd",
        "https://sct-forms.invalid/static/css/%00print.css",
        "https://sct-forms.invalid/static/",
        "https://sct-forms.invalid/static/css/missing.css",
        "https://sct-forms.invalid/sct_forms/config.py",
        "https://sct-forms.invalid.example.org/static/css/print.css",
        "http://sct-forms.invalid/static/css/print.css",
        "ftp://example.org/x",
        "javascript:alert(1)",
        "/static/css/print.css",
    ],
)
def test_fetcher_refuses(app, town, url, caplog):
    fetcher = url_fetcher_for(town.id)

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        with pytest.raises(ResourceRefusedError):
            fetcher(url)

    assert any(url[:200] in message for message in refusal_messages(caplog, app))


def test_refused_data_urls_are_logged_shortened(app, town, caplog):
    url = "data:image/png;base64," + "A" * 100_000

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        with pytest.raises(ResourceRefusedError):
            url_fetcher_for(town.id)(url)

    (message,) = refusal_messages(caplog, app)
    assert len(message) < 400
