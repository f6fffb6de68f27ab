"""Actions 1.2 and 1.3: records started from the town page, reviewed like toolkits, and Gold."""

from __future__ import annotations

import pytest

from sct_forms.domain.forms import Form
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, ChangeRequest, StepAnswers, Toolkit
from sct_forms.toolkits import services
from tests.toolkit_helpers import (
    TRAINING_COMPLETE_ANSWERS,
    fill_completely,
    fill_record_completely,
    make_record,
    make_toolkit,
)

TRAINING_COMMISSIONER = TRAINING_COMPLETE_ANSWERS["delegation"]["members"][2]


@pytest.fixture(autouse=True)
def no_mail_delivery(app):
    app.config["MAIL_DELIVERY"] = "off"


def reload(record) -> Toolkit:
    db.session.expire_all()
    return db.session.get(Toolkit, record.id)


def start(client, form: str, town: str = "windham"):
    return client.post(f"/towns/{town}/actions/{form}/start")


def approved(record: Toolkit) -> Toolkit:
    record.state = "approved"
    record.revision_count = 1
    db.session.commit()
    return record


def test_staff_start_the_training_record_from_the_town_page(as_user, staff_user, cycle, catalog):
    client = as_user(staff_user)
    page = client.get("/towns/windham").get_data(as_text=True)
    assert "Actions 1.2 and 1.3" in page
    assert 'action="/towns/windham/actions/equity-training/start"' in page
    assert 'action="/towns/windham/actions/equity-statement/start"' in page
    response = start(client, "equity-training")
    assert response.status_code == 303
    record = db.session.query(Toolkit).one()
    assert response.headers["Location"] == f"/toolkits/{record.id}/steps/series"
    assert (record.form, record.paired_action.number, record.state) == (
        "equity-training",
        "1.2",
        "draft",
    )
    assert db.session.query(StepAnswers).filter_by(toolkit_id=record.id).count() == 3
    event = db.session.query(AuditEvent).filter_by(action="toolkit.started").one()
    assert event.details["form"] == "equity-training"
    step = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Action 1.2: Participate in Equity Training" in step
    assert "Which training series did your delegation take?" in step


def test_starting_again_opens_the_same_record(as_user, staff_user, cycle, catalog):
    client = as_user(staff_user)
    first = start(client, "equity-statement")
    second = start(client, "equity-statement")
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.query(Toolkit).count() == 1
    page = client.get("/towns/windham").get_data(as_text=True)
    assert "1.3 Develop and Adopt a Statement on Equity" in page
    assert 'action="/towns/windham/actions/equity-statement/start"' not in page


def test_a_toolkit_paired_with_1_2_and_the_1_2_record_are_different_things(
    as_user, staff_user, cycle, catalog
):
    make_toolkit(staff_user.municipality, cycle, catalog["1.2"], staff_user)
    assert start(as_user(staff_user), "equity-training").status_code == 303
    assert {t.form for t in db.session.query(Toolkit)} == {"equity-toolkit", "equity-training"}


@pytest.mark.parametrize("who", ["reviewer_user", "admin_user", "coach_user"])
def test_only_staff_start_records(request, as_user, who, staff_user, cycle, catalog):
    user = request.getfixturevalue(who)
    client = as_user(user)
    response = start(client, "equity-training")
    assert response.status_code == 403
    assert db.session.query(Toolkit).count() == 0
    with pytest.raises(PermissionError):
        services.start_action_record(staff_user.municipality, cycle, Form.TRAINING, user)
    page = client.get("/towns/windham").get_data(as_text=True)
    assert "/actions/equity-training/start" not in page


def test_staff_of_another_town_cannot_start_this_towns_record(
    as_user, other_staff_user, staff_user, cycle, catalog
):
    response = start(as_user(other_staff_user), "equity-training")
    assert response.status_code in (403, 404)
    assert db.session.query(Toolkit).count() == 0
    with pytest.raises(PermissionError):
        services.start_action_record(
            staff_user.municipality, cycle, Form.TRAINING, other_staff_user
        )


@pytest.mark.parametrize("form", ["equity-toolkit", "training", "1.2", "x" * 300])
def test_unknown_forms_are_not_found(as_user, staff_user, cycle, catalog, form):
    assert start(as_user(staff_user), form).status_code == 404
    assert db.session.query(Toolkit).count() == 0


def test_the_training_record_says_in_words_who_is_still_missing(
    as_user, staff_user, cycle, catalog
):
    record = make_record(staff_user.municipality, cycle, catalog["1.2"], Form.TRAINING, staff_user)
    fill_record_completely(record, staff_user)
    members = record.step_answers("delegation")
    members.data = {
        "members": [
            {**row, "attended": ["session_1", "session_2"]}
            if row["role"] == "commissioner"
            else row
            for row in members.data["members"]
        ]
    }
    db.session.commit()
    client = as_user(staff_user)
    page = client.get(f"/toolkits/{record.id}").get_data(as_text=True)
    assert "The delegation needs 1 person in the role “Member of a board or commission”" in page
    assert "Lee Park (Member of a board or commission) attended 2 of the 3 sessions." in page
    assert "You can submit when every step is complete." in page
    client.post("/language", data={"language": "es"})
    page_es = client.get(f"/toolkits/{record.id}").get_data(as_text=True)
    assert "Miembro de una junta o comisión" in page_es


def test_the_statement_goes_round_the_review_workflow(
    as_user, staff_user, reviewer_user, cycle, catalog
):
    record = make_record(staff_user.municipality, cycle, catalog["1.3"], Form.STATEMENT, staff_user)
    fill_record_completely(record, staff_user)
    staff = as_user(staff_user)
    assert (
        staff.post(f"/toolkits/{record.id}/submit", data={"expected_state": "draft"}).status_code
        == 303
    )
    staff.post("/sign-out")

    reviewer = as_user(reviewer_user)
    queue = reviewer.get("/review/queue").get_data(as_text=True)
    assert "1.3 Develop and Adopt a Statement on Equity" in queue
    reviewer.post(f"/review/toolkits/{record.id}/claim", data={"expected_state": "submitted"})
    review_page = reviewer.get(f"/review/toolkits/{record.id}").get_data(as_text=True)
    assert "Action 1.3: Develop and Adopt a Statement on Equity" in review_page
    reviewer.post(
        f"/review/toolkits/{record.id}/requests",
        data={"step_key": "publication", "target": "where", "body": "Give the exact web address."},
    )
    reviewer.post(
        f"/review/toolkits/{record.id}/decision",
        data={"decision": "request_changes", "reason": "", "expected_state": "in_review"},
    )
    reviewer.post("/sign-out")
    assert reload(record).state == "changes_requested"

    staff = as_user(staff_user)
    row = reload(record).step_answers("publication")
    staff.post(
        f"/toolkits/{record.id}/steps/publication",
        data={**row.data, "where": "https://example.org/equity", "base_version": row.version},
    )
    request_row = db.session.query(ChangeRequest).one()
    staff.post(
        f"/change-requests/{request_row.id}/respond",
        data={"response": "Added the address.", "addressed": "y"},
    )
    resubmit = staff.post(
        f"/toolkits/{record.id}/submit", data={"expected_state": "changes_requested"}
    )
    assert resubmit.status_code == 303
    staff.post("/sign-out")

    reviewer = as_user(reviewer_user)
    changes = reviewer.get(f"/review/toolkits/{record.id}/changes?since=1").get_data(as_text=True)
    assert "example.org/equity" in changes
    reviewer.post(f"/review/toolkits/{record.id}/claim", data={"expected_state": "submitted"})
    decision = reviewer.post(
        f"/review/toolkits/{record.id}/decision",
        data={"decision": "approve", "reason": "", "expected_state": "in_review"},
    )
    assert decision.status_code == 303
    assert reload(record).state == "approved"
    town = reviewer.get("/towns/windham").get_data(as_text=True)
    assert "Action 1.3 approved: yes." in town


def four_approved_toolkits(staff_user, cycle, catalog):
    for number in ("3.4", "3.12", "5.4", "5.7"):
        toolkit = make_toolkit(staff_user.municipality, cycle, catalog[number], staff_user)
        fill_completely(toolkit, staff_user)
        approved(toolkit)


def test_gold_needs_four_toolkits_and_approved_1_2_and_1_3(as_user, staff_user, cycle, catalog):
    four_approved_toolkits(staff_user, cycle, catalog)
    training = make_record(
        staff_user.municipality, cycle, catalog["1.2"], Form.TRAINING, staff_user
    )
    approved(training)
    statement = make_record(
        staff_user.municipality, cycle, catalog["1.3"], Form.STATEMENT, staff_user
    )
    client = as_user(staff_user)
    silver = client.get("/towns/windham").get_data(as_text=True)
    assert "Level reached for the equity requirement: Silver." in silver
    assert "Action 1.3 approved: not yet, it is in progress." in silver
    assert "Still missing for Gold:" in silver and "action 1.3 approved." in silver
    assert "Action 1.2 approved: yes." in silver
    approved(statement)
    gold = client.get("/towns/windham").get_data(as_text=True)
    assert "Level reached for the equity requirement: Gold." in gold
    assert "Still missing" not in gold


def test_without_any_record_gold_says_both_actions_are_not_started(
    as_user, staff_user, cycle, catalog
):
    four_approved_toolkits(staff_user, cycle, catalog)
    page = as_user(staff_user).get("/towns/windham").get_data(as_text=True)
    assert "Action 1.2 approved: not yet, not started." in page
    assert "Action 1.3 approved: not yet, not started." in page
    assert "action 1.2 approved, action 1.3 approved." in " ".join(page.split())


def test_the_town_packet_holds_the_records_of_1_2_and_1_3(as_user, staff_user, cycle, catalog):
    record = make_record(staff_user.municipality, cycle, catalog["1.2"], Form.TRAINING, staff_user)
    fill_record_completely(record, staff_user)
    page = (
        as_user(staff_user)
        .get(f"/towns/windham/packet/preview?cycle={cycle.id}")
        .get_data(as_text=True)
    )
    assert "1.2 Participate in Equity Training" in page
    assert "Rosa Diaz" in page


def test_the_delegation_step_says_who_is_missing_beside_its_meter(
    as_user, staff_user, cycle, catalog
):
    record = make_record(staff_user.municipality, cycle, catalog["1.2"], Form.TRAINING, staff_user)
    fill_record_completely(record, staff_user)
    members = record.step_answers("delegation")
    members.data = {"members": members.data["members"][:2]}
    db.session.commit()
    client = as_user(staff_user)
    page = client.get(f"/toolkits/{record.id}/steps/delegation").get_data(as_text=True)
    meter = page[page.index('id="step-progress"') :]
    meter = meter[: meter.index("</div>")]
    assert "The delegation needs 1 person in the role “Member of a board or commission”" in meter
    row = reload(record).step_answers("delegation")
    fields = {"base_version": row.version}
    for index, member in enumerate(row.data["members"] + [TRAINING_COMMISSIONER]):
        for key, value in member.items():
            fields[f"members-{index}-{key}"] = value
    saved = client.post(
        f"/toolkits/{record.id}/steps/delegation/autosave",
        data=fields,
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    body = saved.get_data(as_text=True)
    assert 'id="step-progress" hx-swap-oob="true"' in body
    assert "The delegation needs" not in body
