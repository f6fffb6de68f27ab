"""Recertification: a town starts this cycle's toolkit from one of its earlier cycles' toolkits.

The answers are copied as a draft (copied_from set, audited), old dates are flagged until they
are new, an action certified before is refused, and the earlier files are attached again one by
one as copies. Only the town's own staff, from their own town's earlier toolkits.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib

import pytest
from sqlalchemy import select

from sct_forms.domain.recertification import carry_over
from sct_forms.domain.toolkit_definition import load_definition
from sct_forms.evidence import storage
from sct_forms.evidence.services import delete_evidence
from sct_forms.extensions import db
from sct_forms.maintenance.file_check import find_problems
from sct_forms.models import AuditEvent, Evidence, Toolkit
from sct_forms.toolkits import recertification, services
from tests.recertification_helpers import EARLIER_ANSWERS, earlier_toolkit
from tests.storage_helpers import read_stored
from tests.toolkit_helpers import make_toolkit


@pytest.fixture
def earlier(town, cycle, catalog, staff_user) -> Toolkit:
    """An approved toolkit of 2023 on 3.4, and this cycle (2026 Fall) current."""
    return earlier_toolkit(town, catalog["3.4"], staff_user)


def copy_url(toolkit: Toolkit) -> str:
    return f"/towns/windham/toolkits/copy/{toolkit.id}"


def copies() -> list[Toolkit]:
    db.session.expire_all()
    return list(db.session.scalars(select(Toolkit).where(Toolkit.copied_from_id.is_not(None))))


# --- copying --------------------------------------------------------------------------------


def test_staff_copy_an_approved_earlier_toolkit_into_a_draft_of_this_cycle(
    as_user, staff_user, cycle, catalog, earlier
):
    client = as_user(staff_user)
    listing = client.get("/towns/windham/toolkits/copy").get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" in listing and "2023 Fall" in listing
    assert f'href="{copy_url(earlier)}"' in listing
    assert 'href="/towns/windham/toolkits/copy"' in client.get("/towns/windham").get_data(
        as_text=True
    )

    response = client.post(
        copy_url(earlier), data={"action_id": catalog["5.4"].id, "confirmed": "y"}
    )
    assert response.status_code == 303
    (new,) = copies()
    assert response.headers["Location"] == f"/toolkits/{new.id}/copied"
    assert new.copied_from_id == earlier.id
    assert (new.cycle_id, new.state, new.paired_action_id) == (cycle.id, "draft", catalog["5.4"].id)
    assert new.definition_version == "2024.1"
    assert new.answers_by_step() == EARLIER_ANSWERS
    assert new.evidence == []  # files are attached one by one, never all at once
    listing = client.get("/towns/windham/toolkits/copy").get_data(as_text=True)
    assert f'href="/toolkits/{new.id}/copied"' in listing
    started = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "toolkit.started")
    ).one()
    assert started.object_id == str(new.id) and started.actor_id == staff_user.id
    assert started.details["copied_from"] == earlier.id
    assert started.details["copied_from_cycle"] == "2023 Fall"
    assert started.details["dropped"] == []


def test_copied_dates_before_the_lookback_are_flagged_until_they_are_new(
    as_user, staff_user, cycle, catalog, earlier
):
    client = as_user(staff_user)
    client.post(copy_url(earlier), data={"action_id": catalog["5.4"].id, "confirmed": "y"})
    (new,) = copies()

    summary = client.get(f"/toolkits/{new.id}/copied").get_data(as_text=True)
    assert "Dates to change: work must be new for this cycle (on or after July 1, 2023)." in summary
    assert f'href="/toolkits/{new.id}/steps/context#q-start_date"' in summary
    assert f'href="/toolkits/{new.id}/steps/engagement#q-events-0-date"' in summary
    assert "This date comes from your 2023 Fall toolkit." in summary

    page = client.get(f"/toolkits/{new.id}/steps/context").get_data(as_text=True)
    notice = page.split('id="copied-dates"')[1].split("</div>")[0]
    assert '<a href="#q-start_date">' in notice and "2023-01-15" in notice
    assert (
        "This date comes from your 2023 Fall toolkit; work must be new for this cycle "
        "(on or after July 1, 2023)."
    ) in notice
    assert not services.toolkit_completeness(new).step("context").state == "complete"

    context = dict(EARLIER_ANSWERS["context"], start_date="2026-01-20")
    result = services.save_step(
        new, "context", context, new.step_answers("context").version, staff_user
    )
    assert result.saved
    db.session.expire_all()
    new = db.session.get(Toolkit, new.id)
    assert services.toolkit_completeness(new).step("context").state == "complete"
    assert recertification.dates_to_renew(new, "context") == []
    page = client.get(f"/toolkits/{new.id}/steps/context").get_data(as_text=True)
    assert "This toolkit started from your 2023 Fall toolkit" in page
    assert "Dates to change" not in page


def test_an_action_certified_before_is_refused_in_words_and_another_may_be_chosen(
    as_user, staff_user, cycle, catalog, earlier
):
    client = as_user(staff_user)
    page = client.get(copy_url(earlier)).get_data(as_text=True)
    assert "On recertification the equity process must be applied to a new action." in page
    assert (
        "Your town was certified with an Equity Toolkit on 3.4 Develop an Open Space Plan" in page
    )
    # No default: the same action is not allowed.
    assert "selected" not in page.split('id="copy-action"')[1].split("</select>")[0]
    assert "certified in 2023 Fall: not again" in page

    response = client.post(
        copy_url(earlier), data={"action_id": catalog["3.4"].id, "confirmed": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "Your town was certified with an Equity Toolkit on 3.4 Develop an Open Space Plan in "
        "2023 Fall. On recertification the equity process must be applied to a new action"
    ) in html
    assert copies() == []
    with pytest.raises(recertification.CopyRefusedError) as refused:
        recertification.copy_toolkit(
            staff_user.municipality, cycle, earlier.id, catalog["3.4"].id, True, staff_user
        )
    assert refused.value.code == "certified_before"

    ok = client.post(copy_url(earlier), data={"action_id": catalog["3.12"].id, "confirmed": "y"})
    assert ok.status_code == 303 and len(copies()) == 1


def test_a_toolkit_not_certified_offers_its_own_action_by_default(
    as_user, town, staff_user, cycle, catalog
):
    not_approved = earlier_toolkit(town, catalog["3.12"], staff_user, state="not_approved")
    client = as_user(staff_user)
    page = client.get(copy_url(not_approved)).get_data(as_text=True)
    assert f'<option value="{catalog["3.12"].id}" selected>' in page
    assert "The same action, 3.12 Enhance Pollinator Pathways, is chosen below" in page
    response = client.post(
        copy_url(not_approved), data={"action_id": catalog["3.12"].id, "confirmed": "y"}
    )
    assert response.status_code == 303
    (new,) = copies()
    assert new.paired_action_id == catalog["3.12"].id


def test_an_action_with_a_toolkit_this_cycle_and_an_unticked_confirmation_are_refused(
    as_user, town, staff_user, cycle, catalog, earlier
):
    make_toolkit(town, cycle, catalog["5.4"], staff_user)
    client = as_user(staff_user)
    taken = client.post(copy_url(earlier), data={"action_id": catalog["5.4"].id, "confirmed": "y"})
    assert taken.status_code == 422
    assert "already has an Equity Toolkit for 5.4" in taken.get_data(as_text=True)
    unticked = client.post(copy_url(earlier), data={"action_id": catalog["5.7"].id})
    assert unticked.status_code == 422
    assert "Confirm that this action is part of" in unticked.get_data(as_text=True)
    assert copies() == []


def test_a_second_press_of_the_copy_button_opens_the_same_copy(
    as_user, staff_user, cycle, catalog, earlier
):
    client = as_user(staff_user)
    data = {"action_id": catalog["5.4"].id, "confirmed": "y"}
    first = client.post(copy_url(earlier), data=data)
    second = client.post(copy_url(earlier), data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(copies()) == 1


def test_only_earlier_toolkits_of_the_town_not_withdrawn_can_be_copied(
    as_user, town, other_town, staff_user, other_staff_user, cycle, catalog, earlier
):
    this_cycles = make_toolkit(town, cycle, catalog["5.7"], staff_user)
    withdrawn = make_toolkit(town, earlier.cycle, catalog["3.12"], staff_user)
    withdrawn.state = "withdrawn"
    theirs = make_toolkit(other_town, earlier.cycle, catalog["3.12"], other_staff_user)
    db.session.commit()
    client = as_user(staff_user)
    listing = client.get("/towns/windham/toolkits/copy").get_data(as_text=True)
    assert copy_url(withdrawn) not in listing and copy_url(this_cycles) not in listing
    for toolkit in (this_cycles, withdrawn, theirs):
        assert client.get(copy_url(toolkit)).status_code == 404
        response = client.post(
            copy_url(toolkit), data={"action_id": catalog["5.4"].id, "confirmed": "y"}
        )
        assert response.status_code == 404
    assert copies() == []


@pytest.mark.parametrize("role", ["reviewer_user", "coach_user", "admin_user"])
def test_other_roles_may_not_copy(request, as_user, cycle, catalog, earlier, role):
    user = request.getfixturevalue(role)
    client = as_user(user)
    assert client.get("/towns/windham/toolkits/copy").status_code == 403
    assert client.get(copy_url(earlier)).status_code == 403
    response = client.post(
        copy_url(earlier), data={"action_id": catalog["5.4"].id, "confirmed": "y"}
    )
    assert response.status_code == 403
    with pytest.raises(PermissionError):
        recertification.copy_toolkit(
            earlier.municipality, cycle, earlier.id, catalog["5.4"].id, True, user
        )
    assert copies() == []


def test_another_towns_staff_may_not_copy(as_user, other_staff_user, cycle, catalog, earlier):
    client = as_user(other_staff_user)
    assert client.get("/towns/windham/toolkits/copy").status_code == 404
    assert client.get(copy_url(earlier)).status_code == 404
    response = client.post(
        copy_url(earlier), data={"action_id": catalog["5.4"].id, "confirmed": "y"}
    )
    assert response.status_code == 404
    # Their own town's page, naming Windham's toolkit: not found either.
    mansfield = f"/towns/mansfield/toolkits/copy/{earlier.id}"
    assert (
        client.post(mansfield, data={"action_id": catalog["5.4"].id, "confirmed": "y"}).status_code
        == 404
    )
    with pytest.raises(PermissionError):
        recertification.copy_toolkit(
            earlier.municipality, cycle, earlier.id, catalog["5.4"].id, True, other_staff_user
        )
    assert copies() == []


# --- answers the current definition no longer asks ------------------------------------------


def test_answers_no_longer_asked_are_dropped_and_named():
    old = load_definition("2024.1")
    context, affected = old.step("context"), old.step("affected_and_missing")
    groups = affected.question("groups")
    barriers = groups.field("barriers")
    # A later definition: no "team" question, no "other_barriers" field, no "schedule" choice,
    # and no reflection step.
    new = dataclasses.replace(
        old,
        version="2099.1",
        steps=tuple(
            step
            for step in (
                dataclasses.replace(
                    context, questions=tuple(q for q in context.questions if q.key != "team")
                ),
                dataclasses.replace(
                    affected,
                    questions=tuple(
                        dataclasses.replace(
                            groups,
                            fields=tuple(
                                dataclasses.replace(
                                    f,
                                    choices=tuple(
                                        c for c in barriers.choices if c.value != "schedule"
                                    ),
                                )
                                if f.key == "barriers"
                                else f
                                for f in groups.fields
                            ),
                        )
                        if q.key == "groups"
                        else q
                        for q in affected.questions
                    ),
                ),
                *(s for s in old.steps if s.key not in ("context", "affected_and_missing")),
            )
            if step.key != "reflection"
        ),
    )
    answers = copy.deepcopy(EARLIER_ANSWERS)
    answers["affected_and_missing"]["groups"][0]["other_barriers"] = "No bus on Sundays"
    new_groups = new.step("affected_and_missing").question("groups")
    new_groups = dataclasses.replace(
        new_groups, fields=tuple(f for f in new_groups.fields if f.key != "other_barriers")
    )
    new = dataclasses.replace(
        new,
        steps=tuple(
            dataclasses.replace(
                s,
                questions=tuple(new_groups if q.key == "groups" else q for q in s.questions),
            )
            if s.key == "affected_and_missing"
            else s
            for s in new.steps
        ),
    )

    carried = carry_over(old, new, answers)

    reasons = {(d.step_key, d.question_key, d.reason, d.value) for d in carried.dropped}
    assert reasons == {
        ("context", "team", "question_gone", ""),
        ("affected_and_missing", "groups", "choice_gone", "schedule"),
        ("affected_and_missing", "groups", "field_gone", ""),
        ("reflection", "lessons", "step_gone", ""),
        ("reflection", "do_differently", "step_gone", ""),
        ("reflection", "continuing_engagement", "step_gone", ""),
    }
    assert "team" not in carried.answers["context"]
    assert carried.answers["context"]["goals"] == answers["context"]["goals"]
    row = carried.answers["affected_and_missing"]["groups"][0]
    assert row["barriers"] == ["language"] and "other_barriers" not in row
    assert "reflection" not in carried.answers
    # The same definition on both sides copies everything, in the stored shape.
    assert carry_over(old, old, EARLIER_ANSWERS).answers == EARLIER_ANSWERS
    assert carry_over(old, old, EARLIER_ANSWERS).dropped == ()


# --- evidence, attached again one by one ----------------------------------------------------


@pytest.fixture
def copied(staff_user, cycle, catalog, earlier) -> Toolkit:
    return recertification.copy_toolkit(
        staff_user.municipality, cycle, earlier.id, catalog["5.4"].id, True, staff_user
    )


def test_an_earlier_file_is_attached_as_a_copy_once_however_often_it_is_pressed(
    as_user, staff_user, earlier, copied
):
    flyer = earlier.evidence[0]
    client = as_user(staff_user)
    step_page = client.get(f"/toolkits/{copied.id}/steps/outreach").get_data(as_text=True)
    assert "Files from your 2023 Fall toolkit" in step_page
    action = f'action="/toolkits/{copied.id}/copied/evidence/{flyer.id}"'
    assert action in step_page and "Attach to this toolkit: Bilingual flyer" in step_page
    assert action in client.get(f"/toolkits/{copied.id}/copied").get_data(as_text=True)

    first = client.post(f"/toolkits/{copied.id}/copied/evidence/{flyer.id}", data={"back": "step"})
    assert first.status_code == 303
    assert first.headers["Location"] == f"/toolkits/{copied.id}/steps/outreach?uploaded=1#evidence"
    second = client.post(f"/toolkits/{copied.id}/copied/evidence/{flyer.id}")
    assert second.status_code == 303

    db.session.expire_all()
    (attached,) = db.session.scalars(select(Evidence).filter_by(toolkit_id=copied.id)).all()
    assert (attached.step_key, attached.title, attached.sha256) == (
        "outreach",
        flyer.title,
        flyer.sha256,
    )
    assert attached.storage_name != flyer.storage_name
    stored = read_stored("evidence", attached.storage_name)
    assert hashlib.sha256(stored).hexdigest() == flyer.sha256
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "evidence.added", AuditEvent.object_id == str(copied.id)
        )
    ).one()
    assert event.details["copied_from_evidence"] == flyer.id
    assert event.actor_id == staff_user.id
    page = client.get(f"/toolkits/{copied.id}/steps/outreach").get_data(as_text=True)
    assert "Attached to this toolkit" in page and action not in page
    assert find_problems() == []

    # Each toolkit has its own file: deleting the copy's leaves the earlier one whole.
    delete_evidence(attached, staff_user)
    kept = read_stored("evidence", flyer.storage_name)
    assert hashlib.sha256(kept).hexdigest() == flyer.sha256
    assert find_problems() == []


def test_a_file_missing_from_storage_is_refused_in_words(as_user, staff_user, earlier, copied):
    flyer = earlier.evidence[0]
    storage.remove(flyer.storage_name)
    response = as_user(staff_user).post(f"/toolkits/{copied.id}/copied/evidence/{flyer.id}")
    assert response.status_code == 422
    assert "“Bilingual flyer” is missing from storage" in response.get_data(as_text=True)
    assert db.session.scalars(select(Evidence).filter_by(toolkit_id=copied.id)).all() == []


def test_only_files_of_the_toolkit_copied_from_can_be_attached(
    as_user, town, staff_user, cycle, catalog, earlier, copied
):
    unrelated = earlier_toolkit(town, catalog["3.12"], staff_user)
    not_a_copy = make_toolkit(town, cycle, catalog["5.7"], staff_user)
    client = as_user(staff_user)
    other_file = unrelated.evidence[0]
    assert client.post(f"/toolkits/{copied.id}/copied/evidence/{other_file.id}").status_code == 404
    flyer = earlier.evidence[0]
    assert client.post(f"/toolkits/{not_a_copy.id}/copied/evidence/{flyer.id}").status_code == 404
    assert client.get(f"/toolkits/{not_a_copy.id}/copied").status_code == 404
    assert (
        db.session.scalars(
            select(Evidence).where(Evidence.toolkit_id.in_([copied.id, not_a_copy.id]))
        ).all()
        == []
    )


def test_a_copy_no_longer_editable_refuses_attaching(as_user, staff_user, earlier, copied):
    copied.state = "submitted"
    db.session.commit()
    flyer = earlier.evidence[0]
    assert (
        as_user(staff_user).post(f"/toolkits/{copied.id}/copied/evidence/{flyer.id}").status_code
        == 409
    )
    assert db.session.scalars(select(Evidence).filter_by(toolkit_id=copied.id)).all() == []


@pytest.mark.parametrize(
    ("role", "status"),
    [("reviewer_user", 403), ("coach_user", 403), ("admin_user", 403), ("other_staff_user", 404)],
)
def test_other_roles_may_not_attach_earlier_files(request, as_user, earlier, copied, role, status):
    user = request.getfixturevalue(role)
    flyer = earlier.evidence[0]
    response = as_user(user).post(f"/toolkits/{copied.id}/copied/evidence/{flyer.id}")
    assert response.status_code == status
    with pytest.raises(PermissionError):
        recertification.attach_evidence(copied, flyer.id, user)
    assert db.session.scalars(select(Evidence).filter_by(toolkit_id=copied.id)).all() == []
