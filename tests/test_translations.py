"""The Spanish catalog: complete, faithful to its placeholders, current, compiled, and used.

When a test here fails after you added or changed a user-facing string, run ``make translations``
(extract → update → compile) and translate the new entries of
``sct_forms/translations/es/LC_MESSAGES/messages.po``; then run ``make translations`` once more
to compile them.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from sct_forms.extensions import db
from sct_forms.mail import outbox
from sct_forms.models.outbox import OutboxMessage
from tests.toolkit_helpers import make_toolkit

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "sct_forms" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo"

# The same extraction as the Makefile's `translations` target.
EXTRACT_ARGS = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "-k",
    "N_",
    "--ignore-dirs=.* ._ __pycache__ instance test-artifacts bench tests static",
    "--project=sct-forms",
    "--copyright-holder=Sustainable CT",
]

# A printf-style placeholder as gettext and Jinja's newstyle gettext format it: %(name)s,
# %(n).1f, and the escaped percent sign %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]|%)")


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def messages_of(catalog: Catalog) -> list:
    return [m for m in catalog if m.id]


def msgid_key(message) -> str:
    """The msgid as a reader finds it in the .po (singular msgid for plural entries)."""
    return message.id[0] if isinstance(message.id, tuple) else message.id


@pytest.fixture(scope="module")
def po() -> Catalog:
    return read_catalog(PO)


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory) -> Catalog:
    """What extracting the marked strings now gives, written to a temporary file."""
    out = tmp_path_factory.mktemp("extract") / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()"]
        + EXTRACT_ARGS
        + ["-o", str(out), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return read_catalog(out)


# --- the catalog itself -----------------------------------------------------------------------


def test_catalog_is_spanish_with_two_plural_forms(po):
    assert str(po.locale) == "es"
    assert po.num_plurals == 2
    assert po.plural_expr.replace(" ", "") == "(n!=1)"


def test_every_message_is_translated_and_none_is_fuzzy(po):
    untranslated, fuzzy = [], []
    for message in messages_of(po):
        if message.fuzzy:
            fuzzy.append(msgid_key(message))
        if isinstance(message.id, tuple):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if len(forms) != po.num_plurals or not all(s.strip() for s in forms):
                untranslated.append(msgid_key(message))
        elif not (message.string or "").strip():
            untranslated.append(message.id)
    assert not untranslated, "Untranslated in es/messages.po:\n  " + "\n  ".join(untranslated)
    assert not fuzzy, "Fuzzy in es/messages.po (check, then remove the flag):\n  " + "\n  ".join(
        fuzzy
    )
    assert not po.fuzzy, "the header of es/messages.po is marked fuzzy"


def test_catalog_is_not_empty(po):
    assert len(messages_of(po)) > 400


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def test_translations_keep_exactly_the_placeholders_of_the_english(po):
    problems = []
    for message in messages_of(po):
        if isinstance(message.id, tuple):
            singular, plural = message.id
            pairs = [(singular, message.string[0])]
            pairs += [(plural, s) for s in message.string[1:]]
        else:
            pairs = [(message.id, message.string)]
        for english, spanish in pairs:
            if placeholders(english) != placeholders(spanish):
                problems.append(f"{english!r}\n    -> {spanish!r}")
            elif "%" in PLACEHOLDER.sub("", spanish):
                problems.append(f"{english!r}\n    -> {spanish!r} (a lone %: write %%)")
    assert not problems, "Placeholders differ:\n  " + "\n  ".join(problems)


def test_translations_add_no_markup(po):
    for message in messages_of(po):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        english = "".join(message.id if isinstance(message.id, tuple) else (message.id,))
        for spanish in strings:
            if "<" not in english:
                assert "<" not in spanish, spanish


# --- the catalog is current -------------------------------------------------------------------


def test_template_matches_the_marked_strings(fresh_template):
    committed = {m.id for m in messages_of(read_catalog(POT))}
    fresh = {m.id for m in messages_of(fresh_template)}
    missing = sorted(map(str, fresh - committed))
    stale = sorted(map(str, committed - fresh))
    assert not missing, (
        "Marked strings missing from messages.pot; run `make translations` and translate them:\n  "
        + "\n  ".join(missing)
    )
    assert not stale, (
        "messages.pot has strings no longer in the code; run `make translations`:\n  "
        + "\n  ".join(stale)
    )


def test_every_marked_string_is_in_the_spanish_catalog(fresh_template, po):
    in_po = {m.id for m in messages_of(po)}
    missing = sorted(str(m.id) for m in messages_of(fresh_template) if m.id not in in_po)
    assert not missing, (
        "Marked strings missing from es/messages.po; run `make translations` and translate:\n  "
        + "\n  ".join(missing)
    )


def test_compiled_catalog_matches_the_po(po):
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    expected = read_mo(compiled)
    with MO.open("rb") as f:
        committed = read_mo(f)

    def table(catalog: Catalog) -> dict:
        def key(value):  # noqa: ANN001, ANN202 - read_mo gives plural forms as lists
            return tuple(value) if isinstance(value, list | tuple) else value

        return {key(m.id): key(m.string) for m in catalog if m.id}

    assert table(committed) == table(expected), (
        "es/messages.mo is older than es/messages.po; run `make translations`"
    )
    assert committed.plural_forms == expected.plural_forms


# --- the app speaks Spanish -------------------------------------------------------------------


def test_app_offers_spanish(app):
    assert "es" in app.config["LANGUAGES"]


def test_choosing_spanish_translates_the_sign_in_page(client):
    english = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert 'id="language-choice"' in english  # the header offers the choice

    response = client.post("/language", data={"language": "es", "next": "/sign-in"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sign-in")

    html = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "<title>Iniciar sesión – Formularios de Sustainable CT</title>" in html
    assert "Correo electrónico" in html and "Contraseña" in html
    assert ">Sign in<" not in html
    assert '<option value="es" lang="es" selected>Español</option>' in html


def test_browser_asking_for_spanish_gets_spanish(client):
    html = client.get("/sign-in", headers={"Accept-Language": "es-US,es;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="es">' in html
    assert "Iniciar sesión" in html


def test_staff_member_who_prefers_spanish_sees_the_town_page_in_spanish(as_user, staff_user, cycle):
    staff_user.preferred_language = "es"
    db.session.commit()

    html = as_user(staff_user).get("/towns/windham").get_data(as_text=True)

    assert '<html lang="es">' in html
    assert "Nuestro municipio" in html  # navigation
    assert "Ciclo de certificación: 2026 Fall" in html
    assert "Fecha límite de envío" in html
    assert "31 de diciembre de 2026" in html  # dates follow the language too
    assert "Bronce" in html and "Plata" in html and "Oro" in html
    assert "Certification cycle" not in html


def test_spanish_choice_is_kept_on_the_account(as_user, staff_user, cycle):
    client = as_user(staff_user)
    client.post("/language", data={"language": "es", "next": "/towns/windham"})
    db.session.refresh(staff_user)
    assert staff_user.preferred_language == "es"
    assert '<html lang="es">' in client.get("/towns/windham").get_data(as_text=True)


def test_a_spanish_reviewer_gets_the_submission_email_in_spanish(
    app, town, cycle, catalog, staff_user, reviewer_user
):
    reviewer_user.preferred_language = "es"
    db.session.commit()
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)

    outbox.notify_reviewers_of_submission(toolkit, [reviewer_user], link="http://localhost/x")
    db.session.commit()

    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.subject == "Windham envió el Kit de Equidad para 3.4 Develop an Open Space Plan"
    assert f"Hola, {reviewer_user.name}:" in message.body_text
    assert "ciclo 2026 Fall" in message.body_text
    assert '<html lang="es">' in message.body_html
