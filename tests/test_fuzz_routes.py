"""No input gives a 5xx: hostile values at every route, for every role (issue 8, point 5).

The fuzz test walks ``app.url_map``, so a route added later is covered without editing it. For
each rule, method and role, hypothesis draws the path's values, the query string and the form
(names the route really reads, harvested from its module and from the pages' forms, plus random
ones) from hostile values, and any 5xx, or any exception the view lets through, fails the test.
The specific faults a probe found come first, as regression tests.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Rule

from sct_forms.admin import catalog as catalog_admin
from sct_forms.auth import tokens
from sct_forms.certificates.queries import valid_certificate
from sct_forms.coaching import services as coaching
from sct_forms.documents import packet_cache
from sct_forms.evidence.services import add_evidence
from sct_forms.extensions import db
from sct_forms.inputs import MAX_INT, bounded_int
from sct_forms.models import (
    ChangeRequest,
    CoachAssignment,
    Evidence,
    OutboxMessage,
    ReviewComment,
    Toolkit,
    User,
)
from sct_forms.review import services as review
from tests import health_helpers
from tests.conftest import PASSWORD, make_user
from tests.cycle_helpers import future_and_past_cycles
from tests.evidence.samples import jpeg_bytes, pdf_bytes
from tests.recertification_helpers import copy_on_a_new_action, earlier_toolkit
from tests.toolkit_helpers import fill_completely, make_toolkit

PDF = pdf_bytes(1)
TOO_BIG = "99999999999999999999"  # beyond 64 bits: SQLite and PostgreSQL both refuse it
JUST_TOO_BIG = str(2**31)  # beyond PostgreSQL's integer


# --- the data: a town with a toolkit in each state that matters ---------------------------------


@dataclass
class World:
    """Real objects, so ids in paths hit something, and one signed-in client per role."""

    clients: dict[str, FlaskClient]
    toolkits: dict[str, Toolkit]
    slugs: list[str]
    path_values: dict[str, list[str]] = field(default_factory=dict)
    # Each toolkit's (state, reviewer holding it) as built, put back before each route: posts
    # that submit, withdraw, release or decide would otherwise leave later routes fewer states.
    states: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    # Each account's role, town, active flag and session, and the coaching assignments, as
    # built: the accounts pages change and deactivate people whose clients later routes use.
    accounts: dict[int, tuple[str, int | None, bool, str]] = field(default_factory=dict)
    assignments: set[tuple[int, int]] = field(default_factory=set)

    def restore_states(self) -> None:
        for toolkit_id, (state, holder) in self.states.items():
            db.session.execute(
                update(Toolkit)
                .where(Toolkit.id == toolkit_id)
                .values(state=state, assigned_reviewer_id=holder)
            )
        for user_id, (role, town_id, active, nonce) in self.accounts.items():
            db.session.execute(
                update(User)
                .where(User.id == user_id)
                .values(role=role, municipality_id=town_id, active=active, session_nonce=nonce)
            )
        kept = set(
            db.session.execute(select(CoachAssignment.coach_id, CoachAssignment.municipality_id))
        )
        for coach_id, town_id in self.assignments - {tuple(row) for row in kept}:
            db.session.add(CoachAssignment(coach_id=coach_id, municipality_id=town_id))
        db.session.commit()


ROLES = ("anonymous", "staff", "other_staff", "coach", "reviewer", "admin")


def _signed_in(app: Flask, user) -> FlaskClient:  # noqa: ANN001
    client = app.test_client()
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def _complete(town, cycle, action, user) -> Toolkit:  # noqa: ANN001
    toolkit = make_toolkit(town, cycle, action, user)
    fill_completely(toolkit, user, with_evidence=False)
    for step_key in ("outreach", "engagement"):
        add_evidence(
            toolkit,
            step_key,
            data=PDF,
            filename="flyer.pdf",
            title="Bilingual flyer",
            alt_text="",
            people_consented=False,
            user=user,
        )
    db.session.refresh(toolkit)
    return toolkit


@pytest.fixture
def world(
    app,
    town,
    other_town,
    cycle,
    catalog,
    staff_user,
    other_staff_user,
    coach_user,
    reviewer_user,
    second_reviewer_user,
    admin_user,
    monkeypatch,
) -> World:
    # Packets are about their input here, not their PDF: a build is a constant small file.
    monkeypatch.setattr(packet_cache, "build_pdf", lambda packet: PDF)
    draft = _complete(town, cycle, catalog["3.4"], staff_user)
    add_evidence(
        draft,
        "engagement",
        data=jpeg_bytes(),
        filename="workshop.jpg",
        title="Workshop",
        alt_text="Residents around a map",
        people_consented=True,
        user=staff_user,
    )
    in_review = _complete(town, cycle, catalog["3.12"], staff_user)
    review.submit(in_review, staff_user, "draft")
    review.start_review(in_review, reviewer_user, "submitted")
    changes = _complete(town, cycle, catalog["5.4"], staff_user)
    review.submit(changes, staff_user, "draft")
    review.start_review(changes, reviewer_user, "submitted")
    review.add_comment(changes, "context", "Say who leads the work.", "town", reviewer_user)
    review.add_change_request(changes, "context", "team", "Name each role.", reviewer_user)
    review.decide(changes, "request_changes", reviewer_user, "in_review")
    approved = _complete(town, cycle, catalog["5.7"], staff_user)
    review.submit(approved, staff_user, "draft")
    review.start_review(approved, reviewer_user, "submitted")
    review.decide(approved, "approve", reviewer_user, "in_review")
    # The approval above made Bronze pass: the program issued the certificate.
    certificate = valid_certificate(town, cycle)
    # The town asks for a coach: the administrators' request to assign (its id is one of "int").
    coaching.request_coach(
        town, staff_user, topics="Outreach.", meeting="phone", availability="Mornings."
    )
    elsewhere = make_toolkit(other_town, cycle, catalog["3.4"], other_staff_user)
    # Recertification: an approved toolkit of 2023 with a stored file, and this cycle's toolkit
    # copied from it, whose pages offer the file to attach again.
    earlier = earlier_toolkit(town, catalog["3.4"], staff_user)
    copied = copy_on_a_new_action(town, cycle, earlier, staff_user)
    toolkits = {
        "draft": draft,
        "in_review": in_review,
        "changes_requested": changes,
        "approved": approved,
        "other_town": elsewhere,
        "earlier": earlier,
        "copied": copied,
    }
    for toolkit in toolkits.values():
        db.session.refresh(toolkit)
    assert [t.state for t in toolkits.values()] == [
        "draft",
        "in_review",
        "changes_requested",
        "approved",
        "draft",
        "approved",
        "draft",
    ]
    evidence = db.session.scalars(select(Evidence)).all()
    by_name = {
        "toolkit_id": [str(t.id) for t in toolkits.values()],
        "evidence_id": [str(e.id) for e in evidence],
        "request_id": [str(r.id) for r in db.session.scalars(select(ChangeRequest))],
        "number": ["1", "2"],
        # A future and a past cycle beside the running one: the cycles pages of each phase.
        "cycle_id": [str(c.id) for c in [cycle, *future_and_past_cycles()]],
        "action_id": [str(action.id) for action in catalog.values()],
        # Accounts the administrators' pages may change: one invited and waiting, one deactivated
        # (the accounts of the signed-in clients are put back before each route).
        "user_id": [
            str(make_user("staff", "aaron.waiting@windham.test", "!unusable", town).id),
            str(make_user("reviewer", "abby.gone@sct.test", "!unusable", active=False).id),
        ],
    }
    # Any other id (a route added later) gets all of them.
    ids = {str(c.id) for c in db.session.scalars(select(ReviewComment))}
    ids = sorted(ids.union(*by_name.values()), key=int)
    step_keys = [row.step_key for row in draft.steps]
    values = {
        **by_name,
        "int": ids,
        "slug": [town.slug, other_town.slug],
        "serial": [certificate.serial, certificate.serial.lower()],
        "step_key": step_keys,
        "group_key": ["groups", "activities", "events", "changes"],
        "sha256": [e.sha256 for e in evidence],
        "name": [e.storage_name for e in evidence]
        + [e.print_storage_name for e in evidence if e.print_storage_name],
        "filename": ["css/app.css", "js/app.js"],
    }
    users = {
        "staff": staff_user,
        "other_staff": other_staff_user,
        "coach": coach_user,
        "reviewer": reviewer_user,
        "admin": admin_user,
    }
    clients = {"anonymous": app.test_client()}
    clients.update({role: _signed_in(app, user) for role, user in users.items()})
    # Emailed links (password reset, invitation), for a user none of the clients is.
    values["token"] = [
        tokens.issue(second_reviewer_user, purpose, timedelta(days=1))
        for purpose in ("reset", "invite")
    ]
    db.session.commit()
    states = {t.id: (t.state, t.assigned_reviewer_id) for t in toolkits.values()}
    accounts = {
        u.id: (u.role, u.municipality_id, u.active, u.session_nonce)
        for u in db.session.scalars(select(User))
    }
    assignments = {
        tuple(row)
        for row in db.session.execute(
            select(CoachAssignment.coach_id, CoachAssignment.municipality_id)
        )
    }
    # As after `flask db upgrade`, so that /readyz answers 200 rather than its 503.
    with health_helpers.at_head():
        yield World(
            clients, toolkits, [town.slug, other_town.slug], values, states, accounts, assignments
        )


# --- regression tests: the faults the probe found --------------------------------------------


@pytest.mark.parametrize("mine", ["[]", "null", '"my answer"', "1e999999", "NaN", "[" * 5000])
def test_a_conflict_post_whose_answers_are_not_an_object_is_refused_keeping_the_text(
    as_user, staff_user, cycle, catalog, mine
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    client = as_user(staff_user)
    for choice in ("keep_mine", "merge", "keep_theirs"):
        response = client.post(
            f"/toolkits/{toolkit.id}/steps/context/conflict",
            data={"mine": mine, "choice": choice, "their_version": "0"},
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "Your version could not be read" in html
        assert ("my answer" in html) == (mine == '"my answer"')
    db.session.expire_all()
    assert toolkit.step_answers("context").version == 0


@pytest.mark.parametrize(
    "mine",
    [
        '{"groups": 7}',
        '{"groups": {"a": 1}}',
        '{"groups": [1, "a", null, [2]]}',
        '{"how_identified": {"a": [1e999999]}, "groups": "x"}',
    ],
)
def test_a_conflict_post_with_answers_of_the_wrong_shape_does_not_crash(
    as_user, staff_user, cycle, catalog, mine
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    client = as_user(staff_user)
    for choice in ("merge", "keep_mine", "keep_theirs"):
        response = client.post(
            f"/toolkits/{toolkit.id}/steps/affected_and_missing/conflict",
            data={"mine": mine, "choice": choice, "their_version": "0"},
        )
        assert response.status_code in (200, 303, 409, 422), response.status_code


@pytest.mark.parametrize("number", [TOO_BIG, JUST_TOO_BIG, "1" * 5000])
def test_ids_in_paths_too_large_for_the_database_are_404(as_user, admin_user, number):
    client = as_user(admin_user)
    for path in (
        f"/toolkits/{number}",
        f"/toolkits/{number}/steps/context",
        f"/evidence/{number}/download",
        f"/review/toolkits/{number}",
        f"/toolkits/1/revisions/{number}/evidence/{'0' * 64}",
    ):
        assert client.get(path).status_code == 404, path


# The tests below share one world each (it takes seconds to build), so they loop over values.


def test_numbers_in_query_strings_too_large_for_the_database_are_ignored_or_refused(world):
    for number in (TOO_BIG, JUST_TOO_BIG, "1e999999", "-1", "NaN"):
        _query_numbers_do_not_crash(world, number)


def _query_numbers_do_not_crash(world: World, number: str) -> None:
    toolkit = world.toolkits["changes_requested"]
    slug = world.slugs[0]
    checks = {
        "staff": [
            f"/towns/{slug}?cycle={number}",
            f"/towns/{slug}/packet?cycle={number}",
            f"/towns/{slug}/packet/status?cycle={number}",
            f"/towns/{slug}/packet/preview?cycle={number}",
            f"/towns/{slug}/packet.pdf?cycle={number}",
            f"/towns/{slug}/certificate?cycle={number}",
        ],
        "reviewer": [
            f"/review/queue?town={number}",
            f"/review/queue?category={number}",
            f"/review/queue?age={number}",
            f"/review/queue?page={number}",
            f"/review/toolkits/{toolkit.id}?revision={number}",
            f"/review/toolkits/{toolkit.id}/changes?since={number}",
            f"/review/toolkits/{toolkit.id}/changes?to={number}&since={number}",
        ],
    }
    for role, urls in checks.items():
        for url in urls:
            response = world.clients[role].get(url)
            assert response.status_code < 500, url
            response.close()


CATALOG_HEADER = b"number,title,category_number,required_for\n"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00" * 1000,
        b"\xef\xbb\xbf",
        b"\xff\xfe" + "number".encode("utf-16-le"),
        CATALOG_HEADER + b"3.15,=cmd|' /C calc'!A0,3,\n",
        CATALOG_HEADER + b"3.15,+SUM(1),3,\n-2,@x,3,\n",
        CATALOG_HEADER + b'3.15,"' + b"a" * 300_000 + b'",3,\n',
        CATALOG_HEADER + b"3.15,Riverbanks," + TOO_BIG.encode() + b",\n",
        CATALOG_HEADER + b"99999999999999999999.1,x,3,\n",
        CATALOG_HEADER + b"3.15,x,3," + b"gold," * 5000 + b"\n",
        CATALOG_HEADER + b'"' * 10_000,
        CATALOG_HEADER + b"\r" * 10_000,
        b"number" + b",number" * 5000 + b"\n",
    ],
)
def test_hostile_catalog_files_are_refused_without_a_crash(as_user, admin_user, catalog, body):
    client = as_user(admin_user)
    response = client.post(
        "/admin/catalog/check",
        data={"file": (io.BytesIO(body), "catalog.csv"), "catalog_year": "2026"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Nothing was imported" in response.get_data(as_text=True) or b"" == body.strip()
    for value in (TOO_BIG, JUST_TOO_BIG, "1e999999", "-1", "[]", "\u202e\ufeff"):
        confirm = client.post(
            "/admin/catalog/import", data={"token": value, "sha256": value, "plan": value}
        )
        assert confirm.status_code in (409, 422), value
        year = client.post(
            "/admin/catalog/check",
            data={"file": (io.BytesIO(CATALOG_HEADER), "c.csv"), "catalog_year": value},
            content_type="multipart/form-data",
        )
        assert year.status_code == 422, value
    assert catalog_admin.catalog_years() == [2024]  # nothing imported into 2026


def test_posted_ids_too_large_for_the_database_are_refused(world):
    staff, admin = world.clients["staff"], world.clients["admin"]
    slug = world.slugs[0]
    toolkit = world.toolkits["in_review"]
    for number in (TOO_BIG, JUST_TOO_BIG, "1e999999"):
        start = staff.post(
            f"/towns/{slug}/toolkits/new", data={"action_id": number, "confirmed": "y"}
        )
        assert start.status_code in (200, 422), number
        issue = admin.post(f"/towns/{slug}/certificate", data={"cycle": number})
        assert issue.status_code < 500, number
        assign = admin.post(f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": number})
        assert assign.status_code < 500, number


def test_control_characters_in_a_review_comment_or_a_request_answer_are_refused(world):
    toolkit = world.toolkits["changes_requested"]
    request_id = db.session.scalar(select(ChangeRequest.id))
    comments_before = db.session.query(ReviewComment).count()
    for text in ("a\x00b", "\x00", "line\x0bbreak", "esc\x1b[31m"):
        comment = world.clients["admin"].post(
            f"/review/toolkits/{toolkit.id}/comments",
            data={"step_key": "context", "body": text, "visibility": "town"},
        )
        assert comment.status_code == 400, repr(text)
        assert "invisible control characters" in comment.get_data(as_text=True)
        answer = world.clients["staff"].post(
            f"/change-requests/{request_id}/respond", data={"response": text, "addressed": "y"}
        )
        assert answer.status_code == 400, repr(text)
        db.session.expire_all()
        assert text not in db.session.get(ChangeRequest, request_id).town_response
    assert db.session.query(ReviewComment).count() == comments_before


def test_control_characters_in_a_field_name_or_the_query_are_refused(as_user, staff_user):
    client = as_user(staff_user)
    assert client.get(f"/towns/{staff_user.municipality.slug}?cycle=1%00").status_code == 400
    assert client.get("/verify?serial=SCT%00").status_code == 400
    assert client.post("/language", data={"lang\x00": "es"}).status_code == 400


def test_text_pasted_with_page_breaks_into_a_step_is_saved_with_line_breaks(
    as_user, staff_user, cycle, catalog
):
    """Word and PDF readers copy page breaks and vertical tabs: the save keeps the text."""
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    response = as_user(staff_user).post(
        f"/toolkits/{toolkit.id}/steps/context/autosave",
        data={"goals": "pasted\x0ctext\x0bmore\x00", "base_version": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert toolkit.step_answers("context").data["goals"] == "pasted\ntext\nmore"


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("007", 7), (str(MAX_INT), MAX_INT)]
    + [(text, None) for text in ("", " 5", "+5", "-1", "1_000", "١", "5.0", "1e3", JUST_TOO_BIG)],
)
def test_bounded_int_reads_only_small_ascii_whole_numbers(app, text, number):
    with app.test_request_context(f"/?n={quote(text)}"):
        assert request.args.get("n", type=bounded_int) == number


def test_tab_and_line_breaks_are_still_accepted(as_user, staff_user, cycle, catalog):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    response = as_user(staff_user).post(
        f"/toolkits/{toolkit.id}/steps/context",
        data={"goals": "One\tTwo\r\nThree\nFour", "base_version": "0", "intent": "save"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert toolkit.step_answers("context").data["goals"] == "One\tTwo\nThree\nFour"


@pytest.mark.parametrize(
    "next_url", ["/%0D%0ASet-Cookie:x", "/%0ASet-Cookie:x", "/%0D", "/%09/evil.test"]
)
def test_sign_in_with_a_next_address_holding_line_breaks_goes_somewhere_safe(
    client, staff_user, next_url
):
    response = client.post(
        f"/sign-in?next={next_url}", data={"email": staff_user.email, "password": PASSWORD}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert not re.search(r"[\x00-\x1f]", location)
    assert "Set-Cookie" not in response.headers.get("Set-Cookie", "").split("=")[0]
    assert urlsplit(location).netloc in ("", "localhost")


def test_hostile_values_in_an_email_retry_are_refused(as_user, admin_user):
    message = OutboxMessage(
        kind="test.message", to_address="a@sct.test", subject="Hi", body_text="Hi.", attempts=10
    )
    db.session.add(message)
    db.session.commit()
    seen = message.send_after.isoformat()
    client = as_user(admin_user)
    for attempts, send_after in (
        (TOO_BIG, seen),
        ("-1", seen),
        ("1e999999", seen),
        ("10", "0001-01-01T00:00:00+05:00"),
        ("10", "9999-12-31T23:59:59-05:00"),
        ("10", "2026-07-01T00:00:00"),
        ("10", "[]"),
        ("10", ""),
    ):
        response = client.post(
            f"/admin/outbox/{message.id}/retry",
            data={"attempts": attempts, "send_after": send_after},
        )
        assert response.status_code in (409, 422), (attempts, send_after)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).attempts == 10


# --- the fuzz test ------------------------------------------------------------------------------

# Examples per rule and method for each role; the roles most routes refuse get fewer.
EXAMPLES = {"anonymous": 2, "other_staff": 3, "coach": 3, "staff": 8, "reviewer": 6, "admin": 6}

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1.5",
    "0x10",
    "1_000",
    "١٢",
    JUST_TOO_BIG,
    str(-(2**31) - 1),
    str(2**63),
    TOO_BIG,
    "1" * 400,
    "1e999999",
    "-1e999999",
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "null",
    "true",
    '{"a": 1}',
    '{"goals": [null]}',
    "[" * 3000,
    '"x"',
    "../",
    "../../../../etc/passwd",
    "..%2f..%2f",
    "%00",
    "\x00",
    "a\x00b",
    "\x7f",
    "\r\n",
    "/\r\nSet-Cookie: x=1",
    "//evil.test/",
    "https://evil.test/",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%s%(x)s{0}",
    "é",
    "\u202e\ufeff",
    "😀",
    "﷽",
]
# Words the views compare against, so the fuzzer also walks the paths behind them.
MEANINGFUL = [
    "y",
    "1",
    "on",
    "en",
    "es",
    "save",
    "continue",
    "add:groups",
    "remove:groups:0",
    "remove:",
    "keep_mine",
    "keep_theirs",
    "merge",
    "merged",
    "approve",
    "request_changes",
    "not_approve",
    "town",
    "internal",
    "draft",
    "submitted",
    "in_review",
    "changes_requested",
    "approved",
    "accepted",
    "needs_changes",
    "context",
    "team",
    "groups",
]
# Each goes into every field a route reads at once, in one explicit example per value.
SWEEP = [
    TOO_BIG,
    JUST_TOO_BIG,
    "1e999999",
    "-1",
    "[]",
    "null",
    "/\r\nSet-Cookie: x=1",
]
HOSTILE_NAMES = ["", "\x00", "a" * 300, "groups-99999999999999999999-x", "groups-0-", "request-x"]

SOURCE_NAMES = re.compile(
    r"""(?:args|form|values|files)\s*(?:\.get(?:list)?\(|\[)\s*["']([^"']+)["']"""
)
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL)
ACTION = re.compile(r"""\baction="([^"]*)\"""")
NAME = re.compile(r"""\bname="([^"]+)\"""")
VALUE = re.compile(r"""\bvalue="([^"]*)\"""")
FIELD_TAG = re.compile(r"<(?:input|button|textarea)\b[^>]*>")
SELECT = re.compile(r"""<select\b[^>]*\bname="([^"]+)"[^>]*>(.*?)</select>""", re.DOTALL)
OPTION_VALUE = re.compile(r"""<option\b[^>]*\bvalue="([^"]*)\"""")
HX_TAG = re.compile(r"""(<[a-z]+\b[^>]*?\bhx-(post|get)="([^"]*)"[^>]*>)""")
HX_VALS = re.compile(r"""\bhx-vals='([^']*)'""")
ATTRIBUTE_URL = re.compile(r"""\b(?:href|src|hx-get|hx-post|action)="(/[^"]*)\"""")


# Any character but control codes: those are refused before any view (HOSTILE has a few), and
# a text with one in every field would never get further.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


def _values(world: World, *, long: bool) -> st.SearchStrategy[str]:
    """Hostile and meaningful values; ``long`` adds texts up to 20,000 characters (forms only:
    addresses are cut at a few kilobytes by any server in front of the app)."""
    ids = world.path_values["int"]
    strategies = [
        st.sampled_from(HOSTILE),
        st.sampled_from(MEANINGFUL + ids + world.path_values["step_key"]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        TEXT,
    ]
    if long:
        strategies.append(
            st.builds(
                lambda text, n: (text * n)[:20_000],
                st.sampled_from(["a", "é ", "\n"]),
                st.integers(1_000, 20_000),
            )
        )
    return st.one_of(*strategies)


def _path_value(world: World, rule: Rule, name: str) -> st.SearchStrategy[str]:
    real = _real_path_values(world, rule, name)
    # Mostly real values, so most requests reach the view and its form handling.
    return st.one_of(st.sampled_from(real), st.sampled_from(real), st.sampled_from(HOSTILE), TEXT)


def _path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with any text in its variables, percent-encoded (not built: not checked)."""

    def fill(match: re.Match) -> str:
        value = values[match.group("name")]
        safe = "/" if match.group("converter") == "path" else ""
        return quote(value, safe=safe) or "x"

    return re.sub(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>", fill, rule.rule)


def _names_read_by_views(app: Flask) -> dict[str, set[str]]:
    """For each endpoint, the request fields its module reads (``request.form.get("x")``)."""
    names: dict[str, set[str]] = {}
    for endpoint, view in app.view_functions.items():
        module = sys.modules.get(inspect.unwrap(view).__module__)
        try:
            source = inspect.getsource(module) if module else ""
        except (OSError, TypeError):
            source = ""
        names[endpoint] = set(SOURCE_NAMES.findall(source))
    return names


@dataclass
class Seen:
    """One address of an endpoint that the app's pages link to or send a form to."""

    args: dict[str, str]  # its path values (ids that go together)
    fields: dict[str, set[str]]  # the fields of the forms sent there, with the values offered


def _harvest_pages(app: Flask, world: World) -> dict[str, list[Seen]]:
    """For each endpoint, the addresses and forms the pages show (visited from each signed-in
    role's start pages, a few pages per endpoint), so the fuzzer gets past the first checks."""
    adapter = app.url_map.bind("localhost")
    harvest: dict[str, list[Seen]] = defaultdict(list)

    def seen_at(url: str, method: str) -> tuple[str, Seen] | None:
        try:
            endpoint, args = adapter.match(urlsplit(url).path, method=method)
        except (NotFound, MethodNotAllowed):
            return None
        args = {name: str(value) for name, value in args.items()}
        for known in harvest[endpoint]:
            if known.args == args:
                return endpoint, known
        harvest[endpoint].append(Seen(args, defaultdict(set)))
        return endpoint, harvest[endpoint][-1]

    def add(target: tuple[str, Seen] | None, pairs: list[tuple[str, str]]) -> None:
        if target is not None:
            for name, value in pairs:
                target[1].fields[name].add(value)

    for role in ("staff", "reviewer", "admin"):
        client = world.clients[role]
        to_visit = deque(f"/toolkits/{t.id}" for t in world.toolkits.values())
        to_visit += [f"/toolkits/{t.id}/packet/preview" for t in world.toolkits.values()]
        to_visit += [f"/towns/{slug}" for slug in world.slugs] + ["/", "/review/queue", "/admin/"]
        visited: set[str] = set()
        visits: dict[str, int] = defaultdict(int)
        while to_visit:
            url = to_visit.popleft()
            page = seen_at(url, "GET")
            if url in visited or page is None or visits[page[0]] >= 3:
                continue
            visited.add(url)
            visits[page[0]] += 1
            response = client.get(url)
            is_page = response.status_code == 200 and response.mimetype == "text/html"
            html = response.get_data(as_text=True) if is_page else ""
            response.close()
            for attributes, body in FORM.findall(html):
                action = ACTION.search(attributes)
                method = "GET" if re.search(r'method="get"', attributes, re.I) else "POST"
                add(seen_at(unescape(action.group(1)) if action else url, method),
                    _offered_values(body))
            for tag, method, target_url in HX_TAG.findall(html):
                add(seen_at(unescape(target_url), method.upper()),
                    _offered_values(tag) + _hx_values(tag))
            to_visit += [unescape(u) for u in ATTRIBUTE_URL.findall(html)]
    return harvest


def _hx_values(tag: str) -> list[tuple[str, str]]:
    """The extra values an htmx element sends (its ``hx-vals`` JSON)."""
    found = HX_VALS.search(tag)
    try:
        extra = json.loads(unescape(found.group(1))) if found else {}
    except ValueError:
        return []
    return [(str(name), str(value)) for name, value in extra.items()]


def _offered_values(form_html: str) -> list[tuple[str, str]]:
    """(name, value) of a form's inputs, buttons, text areas and select options."""
    pairs = []
    for tag in FIELD_TAG.findall(form_html):
        if name := NAME.search(tag):
            value = VALUE.search(tag)
            pairs.append((unescape(name.group(1)), unescape(value.group(1)) if value else ""))
    for name, options in SELECT.findall(form_html):
        pairs += [(unescape(name), unescape(value)) for value in OPTION_VALUE.findall(options)]
    return pairs


def _request(client: FlaskClient, method: str, path: str, query, form, headers) -> int | str:  # noqa: ANN001
    """The status when the app answered below 500; else what went wrong."""
    try:
        response = client.open(
            path,
            method=method,
            query_string=urlencode(query),
            data=form if method == "POST" else None,
            headers=headers,
        )
    except Exception as error:  # noqa: BLE001 - with TESTING, a crash is raised, not a 500
        return f"{type(error).__name__}: {error}"[:500]
    status = response.status_code
    response.close()
    return f"HTTP {status}" if status >= 500 else status


def _form_with_files(form: MultiDict, file_value, file_name) -> MultiDict:  # noqa: ANN001
    if file_value is None:
        return form
    form = MultiDict(form)
    form.add("file", (io.BytesIO(file_value), file_name))
    return form


@dataclass
class Route:
    """One rule and method, as one role asks it, with the field names the route reads."""

    rule: Rule
    method: str
    role: str
    field_names: list[str]
    refused: bool  # the role is turned away before the view reads anything
    seen: list[Seen]  # the route's addresses and forms on the app's own pages
    statuses: set[int] = field(default_factory=set)  # what the app answered


def _real_path_values(world: World, rule: Rule, name: str) -> list[str]:
    converter = type(rule._converters[name]).__name__  # noqa: SLF001
    return world.path_values.get(name) or world.path_values[
        "int" if "Integer" in converter else "step_key"
    ]


def _with_sweep(world: World, route: Route, test):  # noqa: ANN001, ANN202
    """One explicit example per value of SWEEP, in every field the route reads at once.

    Random draws seldom put the one bad value in the one field that breaks; these always do.
    Each example takes the next address of the route the app's pages show (else the next real
    value of each path variable), so the toolkits in every state are visited in turn.
    """
    for index, value in enumerate(SWEEP):
        path_args = {
            name: real[index % len(real)]
            for name in route.rule.arguments
            if (real := _real_path_values(world, route.rule, name))
        }
        if route.seen:
            path_args = route.seen[index % len(route.seen)].args
        fields = [(name, value) for name in route.field_names]
        parts = (path_args, fields, fields if route.method == "POST" else [])
        test = example(
            parts=parts, file=None, file_name="flyer.pdf", htmx=index % 2 == 1
        )(test)
    return test


def _request_parts(world: World, route: Route) -> st.SearchStrategy[tuple]:
    """(path values, query, form): mostly an address and its form as the app's pages show
    them, with hostile values; else any path values and the fields of all its forms."""
    names, post = route.field_names, route.method == "POST"
    query_values, form_values = _values(world, long=False), _values(world, long=True)

    def parts(args: st.SearchStrategy[dict], offered: dict[str, set[str]]):  # noqa: ANN202
        query = _fields(names, offered, query_values)
        form = _fields(names, offered, form_values) if post else st.just([])
        return st.tuples(args, query, form)

    union: dict[str, set[str]] = defaultdict(set)
    for seen in route.seen:
        for name, offered in seen.fields.items():
            union[name] |= offered
    any_args = st.fixed_dictionaries(
        {name: _path_value(world, route.rule, name) for name in route.rule.arguments}
    )
    anywhere = parts(any_args, union)
    if not route.seen:
        return anywhere
    as_seen = st.sampled_from(route.seen).flatmap(
        lambda seen: parts(st.just(seen.args), seen.fields)
    )
    return st.one_of(as_seen, as_seen, anywhere)


def _fields(
    names: list[str], offered: dict[str, set[str]], values: st.SearchStrategy[str]
) -> st.SearchStrategy[list]:
    """Name/value pairs as a browser would send them, with hostile values.

    The fields of the route's forms are always sent (as a browser does), mostly with a value the
    page offers; the other names the route reads may be sent; or any names at all.
    """

    def value_of(name: str) -> st.SearchStrategy[str]:
        choices = sorted(offered.get(name, ()))
        if not choices:
            return values
        return st.one_of(st.sampled_from(choices), st.sampled_from(choices), values)

    def one_or_more(name: str) -> st.SearchStrategy[list[str]]:
        single = value_of(name).map(lambda value: [value])
        return st.one_of(single, st.lists(value_of(name), max_size=3))

    known = st.fixed_dictionaries(
        {name: one_or_more(name) for name in names if name in offered},
        optional={name: one_or_more(name) for name in names if name not in offered},
    ).map(lambda fields: [(name, value) for name, many in fields.items() for value in many])
    some_name = st.one_of(st.sampled_from(names or ["q"]), st.sampled_from(HOSTILE_NAMES), TEXT)
    return st.one_of(known, known, st.lists(st.tuples(some_name, values), max_size=8))


def _fuzz(world: World, route: Route) -> str | None:
    """Hypothesis on one route: None when no example got a 5xx, else what failed."""
    rule, method, client = route.rule, route.method, world.clients[route.role]
    names = route.field_names
    files = (
        st.one_of(st.none(), st.just(PDF), st.binary(max_size=64))
        if "file" in names and method == "POST"
        else st.none()
    )

    @settings(
        max_examples=2 if route.refused else EXAMPLES[route.role],
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: it would multiply the requests of a failing route; the failing input
        # is reported as drawn.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(
        parts=_request_parts(world, route),
        file=files,
        file_name=st.one_of(st.sampled_from(HOSTILE), st.just("flyer.pdf")),
        htmx=st.booleans(),
    )
    def never_a_server_error(parts, file, file_name, htmx):  # noqa: ANN001, ANN202
        path_args, query, form = parts
        headers = {"HX-Request": "true"} if htmx else {}
        path = _path(rule, path_args)
        posted = _form_with_files(MultiDict(form), file, file_name)
        answer = _request(client, method, path, query, posted, headers)
        assert isinstance(answer, int), f"{path} query={query!r:.300} form={form!r:.300}: {answer}"
        route.statuses.add(answer)

    test = never_a_server_error
    if not route.refused:
        test = _with_sweep(world, route, test)
    try:
        test()
    except Exception as error:  # noqa: BLE001 - one failing example, or a group of them
        return str(error)[:1500]
    return None


def _refused(world: World, rule: Rule, method: str, role: str) -> bool:
    """Whether the role is sent away (sign in, 403) before the view reads anything.

    Asked about no real object (id 0), so that a permitted role gets a 404 and changes nothing.
    """
    path = _path(rule, {name: "0" for name in rule.arguments})
    response = world.clients[role].open(path, method=method)
    response.close()
    to_sign_in = response.status_code in (301, 302, 303) and "/sign-in" in response.location
    return response.status_code in (401, 403) or (role == "anonymous" and to_sign_in)


# The routes are fuzzed in shards, so that pytest-xdist runs them side by side; every route is
# in exactly one shard (the n-th of every SHARDS routes in a stable order).
SHARDS = 4


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_route_answers_5xx_to_hostile_input(app, world, shard):
    names_by_view = _names_read_by_views(app)
    pages = _harvest_pages(app, world)
    failures = []
    answered: dict[str, set[int]] = defaultdict(set)
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: (rule.endpoint, rule.rule))
    for rule in rules[shard::SHARDS]:
        seen = pages[rule.endpoint]
        names = set(names_by_view.get(rule.endpoint, set()))
        names = sorted(names.union(*(address.fields for address in seen)))
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            for role in ROLES:
                if rule.endpoint == "auth.sign_out" and role != "anonymous":
                    continue  # it would end the session the rest of the test uses
                world.restore_states()
                refused = _refused(world, rule, method, role)
                route = Route(rule, method, role, names, refused, seen)
                problem = _fuzz(world, route)
                if problem:
                    failures.append(f"{method} {rule.rule} as {role}: {problem}")
                if role != "anonymous":  # its answer is mostly the way to the sign-in page
                    answered[f"{method} {rule.endpoint}"] |= route.statuses
    assert not failures, "\n\n".join(failures)
    # The fuzzing reached the views: each route answered something else than a refusal or a
    # 404 at least once (else its real ids or names are no longer what the test supplies).
    refusals = {400, 401, 403, 404, 405}
    unreached = sorted(key for key, statuses in answered.items() if statuses <= refusals)
    assert unreached == [], unreached
