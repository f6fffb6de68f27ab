"""The action catalog in the program console: the page, importing a CSV, titles, retiring."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sct_forms.admin import catalog as catalog_services
from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Toolkit
from tests.conftest import make_user
from tests.toolkit_helpers import make_toolkit

HEADER = "number,title,category_number,required_for\n"
GOOD_2026 = (
    HEADER + '1.1,Optimize for Equity,1,"bronze,silver,gold"\n'
    "3.4,Develop an Open Space Plan,3,\n"
    "3.15,Restore Riverbanks,3,silver\n"
)
# Line 3 names a category that does not exist; everything else is fine.
BAD_2026 = (
    HEADER + '1.1,Optimize for Equity,1,"bronze,silver,gold"\n'
    "14.1,Plant a Community Orchard,14,\n"
    "3.15,Restore Riverbanks,3,silver\n"
)


def upload(client, text: str | bytes, year: str = "2026", filename: str = "catalog.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/admin/catalog/check",
        data={"file": (io.BytesIO(data), filename), "catalog_year": year},
        content_type="multipart/form-data",
    )


def confirm_fields(html: str) -> dict[str, str]:
    fields = {}
    for name in ("token", "sha256", "plan"):
        match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
            rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', html
        )
        assert match, f"no {name} in the preview"
        fields[name] = unescape(match.group(1))
    return fields


def actions_of(year: int) -> dict[str, Action]:
    db.session.expire_all()
    rows = db.session.scalars(select(Action).where(Action.catalog_year == year))
    return {action.number: action for action in rows}


def pending_files(app) -> list[Path]:
    folder = Path(app.instance_path) / catalog_services.PENDING_FOLDER
    return sorted(folder.glob("*")) if folder.exists() else []


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).filter_by(action=action))


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


# --- the page ---------------------------------------------------------------------------------


def test_the_catalog_page_lists_each_action_by_category_with_its_use(
    as_user, admin_user, staff_user, cycle, catalog
):
    make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    catalog["5.4"].title_es = "Evaluar la vulnerabilidad climática"
    db.session.commit()
    client = as_user(admin_user)
    assert 'href="/admin/catalog"' in client.get("/admin/").get_data(as_text=True)
    html = page(client.get("/admin/catalog"))
    assert "The 2024 catalog" in html
    assert "3. Well-Stewarded Land and Natural Resources" in html
    row = re.search(rf'<tr id="action-{catalog["3.4"].id}">(.*?)</tr>', html, re.S).group(1)
    assert "Develop an Open Space Plan" in row and "<td>1</td>" in row
    assert "Evaluar la vulnerabilidad climática" in html
    gold = re.search(rf'<tr id="action-{catalog["1.2"].id}">(.*?)</tr>', html, re.S).group(1)
    assert "Gold" in gold and "Retire" not in gold  # the rules ask for 1.2: not retired here
    for label in ("Catalog file (CSV)", "Catalog year", "Check the file"):
        assert label in html


# --- importing a file -------------------------------------------------------------------------


def test_a_file_with_a_bad_row_is_refused_naming_the_line_and_nothing_is_imported(
    app, as_user, admin_user, catalog
):
    client = as_user(admin_user)
    response = upload(client, BAD_2026)
    assert response.status_code == 422
    html = page(response)
    assert "Nothing was imported" in html
    assert "Line 3: the category 14 does not exist." in html
    assert "Line 2" not in html and "Line 4" not in html
    assert actions_of(2026) == {}
    assert pending_files(app) == []  # a refused file is not kept
    assert 'value="2026"' in html  # the year typed comes back


def test_a_fixed_file_shows_its_changes_then_imports_them_once_confirmed(
    app, as_user, admin_user, catalog
):
    client = as_user(admin_user)
    assert upload(client, BAD_2026).status_code == 422
    # The same file, fixed, into the 2024 catalog: one title changed, one action added.
    fixed = (
        HEADER + '1.1,Optimize for Equity,1,"bronze,silver,gold"\n'
        "3.4,Develop or Update an Open Space Plan,3,\n"
        "3.15,Restore Riverbanks,3,silver\n"
    )
    preview = upload(client, fixed, year="2024")
    assert preview.status_code == 200
    html = page(preview)
    assert "1 action added" in html and "3.15" in html and "Restore Riverbanks" in html
    assert "1 action changed" in html
    assert "Develop an Open Space Plan" in html and "Develop or Update an Open Space Plan" in html
    # Actions left out of the file are listed and kept.
    assert "5 actions not in the file" in html and "5.7 Plan for Long-Term Recovery" in html
    assert "Import these 2 changes" in html
    assert actions_of(2024)["3.4"].title == "Develop an Open Space Plan"  # nothing written yet
    assert len(pending_files(app)) == 2

    done = client.post("/admin/catalog/import", data=confirm_fields(html))
    assert done.status_code == 303
    assert done.headers["Location"] == "/admin/catalog?year=2024"
    after = actions_of(2024)
    assert after["3.4"].title == "Develop or Update an Open Space Plan"
    assert after["3.15"].required_for == "silver" and after["3.15"].category.number == 3
    assert len(after) == 8 and "5.7" in after  # nothing removed
    assert pending_files(app) == []
    changed = db.session.scalars(select(AuditEvent).filter_by(action="action.changed")).one()
    assert changed.details["before"]["title"] == "Develop an Open Space Plan"
    assert changed.details["after"]["title"] == "Develop or Update an Open Space Plan"
    added = db.session.scalars(select(AuditEvent).filter_by(action="action.added")).one()
    assert added.object_id == str(after["3.15"].id) and added.actor_id == admin_user.id
    imported = db.session.scalars(select(AuditEvent).filter_by(action="catalog.imported")).one()
    assert imported.details["added"] == 1 and imported.details["changed"] == 1
    assert "2 changes imported" in page(client.get("/admin/catalog?year=2024"))

    # The same preview confirmed twice imports nothing more.
    again = client.post("/admin/catalog/import", data=confirm_fields(html))
    assert again.status_code == 409
    assert "out of date" in page(again)
    assert audit_count("action.added") == 1


def test_a_new_catalog_year_is_imported_whole(as_user, admin_user, catalog):
    client = as_user(admin_user)
    html = page(upload(client, GOOD_2026))
    assert "3 actions added" in html and "0 actions not in the file" in html
    assert client.post("/admin/catalog/import", data=confirm_fields(html)).status_code == 303
    assert sorted(actions_of(2026)) == ["1.1", "3.15", "3.4"]
    assert len(actions_of(2024)) == 7
    assert ">2026<" in page(client.get("/admin/catalog?year=2026"))


def test_a_file_saved_with_a_byte_order_mark_is_read(as_user, admin_user, catalog):
    client = as_user(admin_user)
    response = upload(client, b"\xef\xbb\xbf" + GOOD_2026.replace("\n", "\r\n").encode())
    assert response.status_code == 200, page(response)
    assert "3 actions added" in page(response)


def test_a_file_not_in_utf8_is_refused_in_words(as_user, admin_user, catalog):
    client = as_user(admin_user)
    latin1 = (HEADER + "3.15,Protéger les rivières,3,\n").encode("latin-1")
    response = upload(client, latin1)
    assert response.status_code == 422
    html = page(response)
    assert "The file is not in UTF-8" in html and "line 2" in html and "CSV UTF-8" in html
    utf16 = upload(client, GOOD_2026.encode("utf-16"))
    assert utf16.status_code == 422 and "not in UTF-8" in page(utf16)
    assert actions_of(2026) == {}


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ('3.15,=HYPERLINK("http://evil.test"),3,\n', 'starts with "="'),
        ("3.15,@SUM(A1:A9),3,\n", 'starts with "@"'),
        ("3.x,Broken number,3,\n", 'the action number "3.x" is not like 3.4.'),
        ("٣.١,Arabic digits,3,\n", "is not like 3.4"),
        ("3.15,,3,\n", "action 3.15 has no title."),
        ("3.15," + "Long " * 50 + ",3,\n", "has 249 characters; the limit is 200."),
        ('3.15,"Two\nlines",3,\n', "Write it on one line."),
        ("3.15,Riverbanks,5,\n", "action 3.15 does not belong to category 5."),
        ("3.15,Riverbanks,,\n", "action 3.15 has no category number."),
        ("3.15,Riverbanks,3,platinum\n", 'required_for names "platinum"'),
        ("3.15,Riverbanks,3,x,y\n", "more values than the header has columns"),
        ("3.4,Again,3,\n3.4,Twice,3,\n", "action 3.4 is already on line 2."),
        ("3.15,Riverbanks,3\x00,\n", "Line 2:"),
    ],
)
def test_each_kind_of_bad_row_is_named_with_its_line(as_user, admin_user, catalog, rows, problem):
    response = upload(as_user(admin_user), HEADER + rows)
    assert response.status_code == 422
    html = page(response)
    assert problem in html, html[html.find("file-problems") :][:800]
    assert "Line " in html and actions_of(2026) == {}


def test_a_file_without_the_header_or_without_rows_is_refused(as_user, admin_user, catalog):
    client = as_user(admin_user)
    no_header = page(upload(client, "3.4,Develop an Open Space Plan,3,\n"))
    assert "Line 1: the header must name the columns" in no_header
    assert "The file has no actions." in page(upload(client, HEADER))
    assert "The file is empty." in page(upload(client, b""))
    missing = upload(client, GOOD_2026, year="")
    assert missing.status_code == 422 and "Give the catalog year as four digits" in page(missing)
    for year in ("20x6", "1e3", "99999999999999999999", "1999", "٢٠٢٦"):
        assert upload(client, GOOD_2026, year=year).status_code == 422, year
    no_file = client.post("/admin/catalog/check", data={"catalog_year": "2026"})
    assert no_file.status_code == 422 and "Choose the catalog file" in page(no_file)
    assert actions_of(2026) == {}


def test_huge_or_hostile_files_are_refused_without_a_crash(as_user, admin_user, catalog):
    client = as_user(admin_user)
    too_large = upload(client, HEADER + "3.15,Riverbanks,3,\n" * 40_000)
    assert too_large.status_code == 422 and "larger than 512 KB" in page(too_large)
    # The test client spools a body this large to a file of its own, which it leaves open.
    too_large.request.environ["wsgi.input"].close()
    # One field beyond the csv module's limit (128 KB) but within the file's.
    huge_field = upload(client, HEADER + "3.15," + "a" * 200_000 + ",3,\n")
    assert huge_field.status_code == 422 and "cannot be read as CSV" in page(huge_field)
    quotes = upload(client, HEADER + '3.15,"unclosed,3,\n' + "x" * 1000)
    assert quotes.status_code == 422
    binary = upload(client, bytes(range(256)) * 100)
    assert binary.status_code == 422
    # Many bad rows: the page names the first hundred and counts the rest.
    numbers = [f"{a}.{b}" for a in range(10, 16) for b in range(1, 100)][:500]
    many = page(upload(client, HEADER + "".join(f"{n},x,99,\n" for n in numbers)))
    assert "Line 101:" in many and "Line 102:" not in many and "And 400 more problems." in many
    assert actions_of(2026) == {}


# --- the preview between the two requests -----------------------------------------------------


def test_a_tampered_stale_or_foreign_preview_is_refused_and_imports_nothing(
    app, as_user, admin_user, password_hash, catalog
):
    client = as_user(admin_user)
    html = page(upload(client, GOOD_2026))
    fields = confirm_fields(html)
    tampered = [
        {**fields, "sha256": "0" * 64},
        {**fields, "plan": "0" * 64},
        {**fields, "token": "A" * 43},
        {**fields, "token": "../" * 10},
        {**fields, "token": ""},
    ]
    for data in tampered:
        response = client.post("/admin/catalog/import", data=data)
        assert response.status_code in (409, 422), data
    # The kept file altered on the server: its SHA-256 no longer matches.
    csv_file = next(p for p in pending_files(app) if p.suffix == ".csv")
    csv_file.write_bytes(csv_file.read_bytes() + b"3.16,Added later,3,\n")
    assert client.post("/admin/catalog/import", data=fields).status_code == 409
    assert actions_of(2026) == {}

    # Another administrator cannot confirm someone else's preview.
    fields = confirm_fields(page(upload(client, GOOD_2026)))
    other = make_user("admin", "jo.admin@sct.test", password_hash)
    client.post("/sign-out")
    other_client = as_user(other)
    assert other_client.post("/admin/catalog/import", data=fields).status_code == 409
    assert actions_of(2026) == {}


def test_a_preview_made_stale_by_a_catalog_change_is_refused(as_user, admin_user, catalog):
    client = as_user(admin_user)
    fixed = HEADER + "3.4,Open Space Plans,3,\n"
    fields = confirm_fields(page(upload(client, fixed, year="2024")))
    catalog["3.4"].title = "Someone else's title"
    db.session.commit()
    response = client.post("/admin/catalog/import", data=fields)
    assert response.status_code == 409 and "out of date" in page(response)
    assert actions_of(2024)["3.4"].title == "Someone else's title"


def test_an_old_preview_is_refused(app, as_user, admin_user, catalog):
    client = as_user(admin_user)
    fields = confirm_fields(page(upload(client, GOOD_2026)))
    meta_file = next(p for p in pending_files(app) if p.suffix == ".json")
    meta = json.loads(meta_file.read_text())
    created = catalog_services.utcnow() - catalog_services.PENDING_LIFETIME - timedelta(minutes=1)
    meta["created"] = created.isoformat()
    meta_file.write_text(json.dumps(meta))
    assert client.post("/admin/catalog/import", data=fields).status_code == 409
    assert actions_of(2026) == {}


def test_a_file_that_changes_nothing_offers_no_import(as_user, admin_user, catalog):
    html = page(upload(as_user(admin_user), HEADER + "3.4,Develop an Open Space Plan,3,\n", "2024"))
    assert "already matches this file" in html and "Import these" not in html


# --- titles in English and Spanish ------------------------------------------------------------


def test_an_edited_spanish_title_shows_in_the_spanish_pages(
    as_user, client, admin_user, staff_user, cycle, catalog
):
    admin = as_user(admin_user)
    action = catalog["3.4"]
    form = admin.get(f"/admin/catalog/actions/{action.id}/edit").get_data(as_text=True)
    assert "Title in Spanish" in form and 'lang="es"' in form
    response = admin.post(
        f"/admin/catalog/actions/{action.id}/edit",
        data={"title": "Develop an Open Space Plan", "title_es": "Elaborar un plan de espacios"},
    )
    assert response.status_code == 303
    event = db.session.scalars(select(AuditEvent).filter_by(action="action.titles_changed")).one()
    assert event.details["before"] == {"title": "Develop an Open Space Plan", "title_es": None}
    assert event.details["after"]["title_es"] == "Elaborar un plan de espacios"
    admin.post("/sign-out")

    staff = as_user(staff_user)
    english = staff.get("/towns/windham/toolkits/new").get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" in english
    staff_user.preferred_language = "es"
    db.session.commit()
    spanish = unescape(staff.get("/towns/windham/toolkits/new").get_data(as_text=True))
    assert "3.4 Elaborar un plan de espacios" in spanish
    assert "5.4 Assess Climate Vulnerability" in spanish  # no Spanish title: English
    db.session.expire_all()
    assert catalog["3.4"].label == "3.4 Develop an Open Space Plan"  # outside a page: English


def test_a_title_edit_is_checked(as_user, admin_user, catalog):
    client = as_user(admin_user)
    url = f"/admin/catalog/actions/{catalog['3.4'].id}/edit"
    for data, message in (
        ({"title": "", "title_es": "x"}, "Give the action a title in English."),
        ({"title": "x" * 201, "title_es": ""}, "Use 200 characters or fewer."),
        ({"title": "ok", "title_es": "a\x00b"}, ""),
    ):
        response = client.post(url, data=data)
        assert response.status_code in (400, 422)
        assert message in page(response)
    assert actions_of(2024)["3.4"].title == "Develop an Open Space Plan"
    same = client.post(url, data={"title": "Develop an Open Space Plan", "title_es": ""})
    assert same.status_code == 303
    assert audit_count("action.titles_changed") == 0


# --- retiring ---------------------------------------------------------------------------------


def test_a_retired_action_is_not_offered_refused_at_start_and_kept_on_its_toolkits(
    as_user, client, admin_user, staff_user, cycle, catalog
):
    existing = make_toolkit(staff_user.municipality, cycle, catalog["5.4"], staff_user)
    admin = as_user(admin_user)
    for number in ("3.4", "5.4"):
        response = admin.post(f"/admin/catalog/actions/{catalog[number].id}/retire")
        assert response.status_code == 303
    assert "No: retired on" in page(admin.get("/admin/catalog"))
    event = db.session.scalars(select(AuditEvent).filter_by(action="action.retired")).first()
    assert event.details["before"] == {"retired_at": None} and event.details["after"]["retired_at"]
    again = admin.post(f"/admin/catalog/actions/{catalog['3.4'].id}/retire")
    assert again.status_code == 409 and "already retired" in page(again)
    equity = admin.post(f"/admin/catalog/actions/{catalog['1.2'].id}/retire")
    assert equity.status_code == 409 and "cannot be retired" in page(equity)
    admin.post("/sign-out")

    staff = as_user(staff_user)
    start_page = staff.get("/towns/windham/toolkits/new").get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" not in start_page
    assert "3.12 Enhance Pollinator Pathways" in start_page
    refused = staff.post(
        "/towns/windham/toolkits/new", data={"action_id": catalog["3.4"].id, "confirmed": "y"}
    )
    assert refused.status_code == 422
    assert "3.4 Develop an Open Space Plan is retired from the catalog" in page(refused)
    assert db.session.scalar(select(func.count(Toolkit.id))) == 1
    # The toolkit started before keeps its action.
    assert "5.4 Assess Climate Vulnerability" in staff.get("/towns/windham").get_data(as_text=True)
    db.session.expire_all()
    assert existing.paired_action.retired_at is not None
    staff.post("/sign-out")

    admin = as_user(admin_user)
    assert admin.post(f"/admin/catalog/actions/{catalog['3.4'].id}/unretire").status_code == 303
    unretired = db.session.scalars(select(AuditEvent).filter_by(action="action.unretired")).one()
    assert unretired.details["after"] == {"retired_at": None}
    assert unretired.details["before"]["retired_at"]
    twice = admin.post(f"/admin/catalog/actions/{catalog['3.4'].id}/unretire")
    assert twice.status_code == 409 and "is not retired" in page(twice)
    admin.post("/sign-out")
    staff = as_user(staff_user)
    assert "3.4 Develop an Open Space Plan" in staff.get("/towns/windham/toolkits/new").get_data(
        as_text=True
    )


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "reviewer", "coach"])
def test_other_roles_are_refused_every_catalog_page_and_change(
    request, app, as_user, admin_user, catalog, role
):
    user = request.getfixturevalue(f"{role}_user")
    # A preview made by an administrator, so that the confirmation has something to confirm.
    checked = catalog_services.check_upload(admin_user, 2026, GOOD_2026.encode())
    fields = {"token": checked.token, "sha256": checked.sha256, "plan": checked.plan_sha256}
    action = catalog["3.4"]
    client = as_user(user)
    assert client.get("/admin/catalog").status_code == 403
    assert client.get(f"/admin/catalog/actions/{action.id}/edit").status_code == 403
    posts = {
        "/admin/catalog/check": {
            "file": (io.BytesIO(GOOD_2026.encode()), "c.csv"),
            "catalog_year": "2026",
        },
        "/admin/catalog/import": fields,
        f"/admin/catalog/actions/{action.id}/edit": {"title": "Mine", "title_es": "Mío"},
        f"/admin/catalog/actions/{action.id}/retire": {},
        f"/admin/catalog/actions/{action.id}/unretire": {},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    # The services refuse them too, whoever calls them.
    for change in (
        lambda: catalog_services.check_upload(user, 2026, GOOD_2026.encode()),
        lambda: catalog_services.confirm_import(user, *fields.values()),
        lambda: catalog_services.edit_titles(user, action, "Mine", None),
        lambda: catalog_services.retire(user, action),
        lambda: catalog_services.unretire(user, action),
    ):
        with pytest.raises(PermissionError):
            change()
    db.session.expire_all()
    assert action.title == "Develop an Open Space Plan" and action.retired_at is None
    assert actions_of(2026) == {}
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "action")
    ).all()


def test_signed_out_visitors_are_sent_to_sign_in(client, catalog):
    for response in (client.get("/admin/catalog"), client.post("/admin/catalog/check")):
        assert response.status_code in (302, 303) and "/sign-in" in response.headers["Location"]
