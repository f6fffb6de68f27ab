"""The workflow's emails about the record of action 1.2 or 1.3 name that record by its title;
the emails about an Equity Toolkit keep their words."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sct_forms.domain.forms import Form
from sct_forms.extensions import db
from sct_forms.mail import outbox as mail_outbox
from sct_forms.models import Toolkit
from sct_forms.models.outbox import OutboxMessage
from tests.conftest import make_user
from tests.toolkit_helpers import fill_completely, fill_record_completely, make_record, make_toolkit

LINK = "http://localhost/towns/windham/toolkits/1"
STATEMENT = "Action 1.3: Develop and Adopt a Statement on Equity"
STATEMENT_ES = "Acción 1.3: Elaborar y adoptar una declaración sobre equidad"
TRAINING = "Action 1.2: Participate in Equity Training"


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def last(kind: str) -> OutboxMessage:
    """The newest message of ``kind``; a decision may also send other mail (a certificate)."""
    return [m for m in outbox() if m.kind == kind][-1]


def the_whole_of(message: OutboxMessage) -> str:
    return "\n".join((message.subject, message.body_text, message.body_html))


def assert_names_the_record(message: OutboxMessage) -> None:
    assert STATEMENT in message.subject
    assert STATEMENT in message.body_text
    assert STATEMENT in message.body_html
    assert "Equity Toolkit" not in the_whole_of(message)
    # The link's path says /toolkits/; no sentence calls the record a toolkit.
    assert " toolkit" not in the_whole_of(message).lower()


@pytest.fixture
def statement(town, cycle, catalog, staff_user) -> Toolkit:
    return make_record(town, cycle, catalog["1.3"], Form.STATEMENT, staff_user)


@pytest.fixture
def equity_toolkit(town, cycle, catalog, staff_user) -> Toolkit:
    return make_toolkit(town, cycle, catalog["3.4"], staff_user)


# --- through the review workflow ----------------------------------------------------------------


def decide(client, record: Toolkit, decision: str, reason: str = "") -> None:
    response = client.post(
        f"/review/toolkits/{record.id}/decision",
        data={"decision": decision, "reason": reason, "expected_state": "in_review"},
    )
    assert response.status_code == 303


def test_a_statement_through_the_workflow_is_named_in_every_email(
    as_user, statement, staff_user, reviewer_user
):
    fill_record_completely(statement, staff_user)
    staff = as_user(staff_user)
    submit = staff.post(f"/toolkits/{statement.id}/submit", data={"expected_state": "draft"})
    assert submit.status_code == 303
    staff.post("/sign-out")
    [submitted] = outbox()
    assert submitted.to_address == reviewer_user.email
    assert submitted.subject == f"Windham submitted its record of {STATEMENT}"
    assert (
        f"Windham submitted its record of {STATEMENT} (2026 Fall cycle). It is ready for review."
    ) in submitted.body_text
    assert f">Review the Windham record of {STATEMENT}</a>" in submitted.body_html
    assert "because you review submissions for Sustainable CT" in submitted.body_text
    assert_names_the_record(submitted)

    reviewer = as_user(reviewer_user)
    reviewer.post(f"/review/toolkits/{statement.id}/claim", data={"expected_state": "submitted"})
    reviewer.post(
        f"/review/toolkits/{statement.id}/requests",
        data={"step_key": "publication", "target": "where", "body": "Give the web address."},
    )
    decide(reviewer, statement, "request_changes")
    changes = last("toolkit.changes_requested")
    assert changes.to_address == staff_user.email
    assert changes.subject == f"Changes requested: {STATEMENT}"
    assert "open the record, answer each request, and submit it again" in changes.body_text
    assert "There is 1 open request." in changes.body_text
    assert_names_the_record(changes)

    db.session.expire_all()
    record = db.session.get(Toolkit, statement.id)
    record.state = "in_review"  # the resubmission loop is covered in test_action_records
    db.session.commit()
    decide(reviewer, statement, "approve")
    approved = last("toolkit.approved")
    assert approved.to_address == staff_user.email
    assert approved.subject == f"Approved: {STATEMENT}"
    assert (
        f"Good news: the record of {STATEMENT} that Windham submitted (2026 Fall cycle) "
        "was approved."
    ) in approved.body_text
    assert "nothing more is needed for this action" in approved.body_text
    assert ">See the approved record</a>" in approved.body_html
    assert_names_the_record(approved)
    assert [m.kind for m in outbox() if m.kind.startswith("toolkit.")] == [
        "toolkit.submitted",
        "toolkit.changes_requested",
        "toolkit.approved",
    ]


def test_a_statement_not_approved_is_named_in_the_email(
    as_user, statement, staff_user, reviewer_user
):
    fill_record_completely(statement, staff_user)
    staff = as_user(staff_user)
    staff.post(f"/toolkits/{statement.id}/submit", data={"expected_state": "draft"})
    staff.post("/sign-out")
    reviewer = as_user(reviewer_user)
    reviewer.post(f"/review/toolkits/{statement.id}/claim", data={"expected_state": "submitted"})
    decide(reviewer, statement, "not_approve", reason="The statement was not adopted by vote.")
    message = last("toolkit.not_approved")
    assert message.subject == f"Not approved: {STATEMENT}"
    assert (
        f"The record of {STATEMENT} that Windham submitted (2026 Fall cycle) was not approved."
    ) in message.body_text
    assert "read the reviewer's notes in the record" in message.body_text
    assert "The statement was not adopted by vote." in message.body_text
    assert f">See the record of {STATEMENT} and the reviewer's notes</a>" in (message.body_html)
    assert_names_the_record(message)


# --- each email, each recipient ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "subject", "next_step", "button"),
    [
        (
            "changes_requested",
            f"Changes requested: {STATEMENT}",
            "What to do next: open the record, answer each request, and submit it again.",
            f">See the requested changes to the record of {STATEMENT}</a>",
        ),
        (
            "approved",
            f"Approved: {STATEMENT}",
            "What to do next: nothing more is needed for this action.",
            ">See the approved record</a>",
        ),
        (
            "not_approved",
            f"Not approved: {STATEMENT}",
            "What to do next: read the reviewer's notes in the record.",
            f">See the record of {STATEMENT} and the reviewer's notes</a>",
        ),
    ],
)
def test_each_decision_about_a_statement_names_it(
    statement, staff_user, decision, subject, next_step, button
):
    mail_outbox.notify_town_of_decision(
        statement, [staff_user], decision, LINK, open_requests=2, reason="See <b>step 2</b>."
    )
    db.session.commit()
    [message] = outbox()
    assert message.subject == subject
    assert next_step in message.body_text
    assert button in message.body_html
    assert f"<title>{subject}</title>" in message.body_html
    assert "See &lt;b&gt;step 2&lt;/b&gt;." in message.body_html
    assert "because you are town staff for Windham" in message.body_text
    assert_names_the_record(message)


def test_the_title_comes_in_each_recipients_language(
    statement, reviewer_user, second_reviewer_user
):
    second_reviewer_user.preferred_language = "es"
    db.session.commit()
    mail_outbox.notify_reviewers_of_submission(
        statement, [reviewer_user, second_reviewer_user], LINK
    )
    db.session.commit()
    english, spanish = outbox()
    assert STATEMENT in english.subject and STATEMENT_ES not in english.subject
    assert STATEMENT_ES in spanish.subject and STATEMENT not in spanish.subject
    assert STATEMENT_ES in spanish.body_text
    assert '<html lang="es">' in spanish.body_html


def test_the_training_record_is_named_too(town, cycle, catalog, staff_user, reviewer_user):
    training = make_record(town, cycle, catalog["1.2"], Form.TRAINING, staff_user)
    mail_outbox.notify_reviewers_of_submission(training, [reviewer_user], LINK)
    mail_outbox.notify_town_of_decision(training, [staff_user], "approved", LINK)
    db.session.commit()
    submitted, approved = outbox()
    assert submitted.subject == f"Windham submitted its record of {TRAINING}"
    assert approved.subject == f"Approved: {TRAINING}"
    for message in (submitted, approved):
        assert "Equity Toolkit" not in the_whole_of(message)


# --- the Equity Toolkit keeps its words --------------------------------------------------------


def test_an_equity_toolkits_emails_keep_their_words(
    as_user, equity_toolkit, staff_user, reviewer_user, password_hash, town
):
    fill_completely(equity_toolkit, staff_user)
    make_user("staff", "jo.planner@windham.test", password_hash, town)
    mail_outbox.notify_reviewers_of_submission(equity_toolkit, [reviewer_user], LINK)
    for decision in ("changes_requested", "approved", "not_approved"):
        mail_outbox.notify_town_of_decision(equity_toolkit, [staff_user], decision, LINK, 1)
    db.session.commit()
    submitted, changes, approved, not_approved = outbox()
    action = "3.4 Develop an Open Space Plan"

    assert submitted.subject == f"Windham submitted the Equity Toolkit for {action}"
    assert (
        f"Windham submitted its Equity Toolkit for {action} (2026 Fall cycle). "
        "It is ready for review."
    ) in submitted.body_text
    assert "Review the Equity Toolkit:" in submitted.body_text
    assert f">Review the Windham Equity Toolkit for {action}</a>" in submitted.body_html
    assert "because you review Equity Toolkits for Sustainable CT" in submitted.body_text

    assert changes.subject == f"Changes requested: Equity Toolkit for {action}"
    assert (
        f"A reviewer read the Equity Toolkit Windham submitted for {action} (2026 Fall cycle) "
        "and asked for some changes before it can be approved."
    ) in changes.body_text
    assert "open the toolkit, answer each request, and submit it again" in changes.body_text

    assert approved.subject == f"Approved: Equity Toolkit for {action}"
    assert (
        f"Good news: the Equity Toolkit Windham submitted for {action} (2026 Fall cycle) "
        "was approved."
    ) in approved.body_text
    assert "nothing more is needed for this toolkit. Thank you for the care" in (approved.body_text)
    assert f">See the approved Equity Toolkit for {action}</a>" in approved.body_html

    assert not_approved.subject == f"Not approved: Equity Toolkit for {action}"
    assert (
        f"The Equity Toolkit Windham submitted for {action} (2026 Fall cycle) was not approved."
    ) in not_approved.body_text
    assert "See the toolkit and the reviewer's notes:" in not_approved.body_text

    for message in (submitted, changes, approved, not_approved):
        assert "record of" not in the_whole_of(message)
        assert "Action 1." not in the_whole_of(message)


def test_an_actions_catalog_title_comes_in_each_readers_language(
    app, as_user, equity_toolkit, staff_user, catalog, password_hash
):
    """A Spanish-speaking person's click must not put the Spanish title in English mail."""
    catalog["3.4"].title_es = "Elaborar un plan de espacios abiertos"
    staff_user.preferred_language = "es"
    english = make_user("reviewer", "eli.english@sct.test", password_hash)
    spanish = make_user("reviewer", "sol.spanish@sct.test", password_hash, preferred_language="es")
    fill_completely(equity_toolkit, staff_user)
    client = as_user(staff_user)
    client.post("/language", data={"language": "es"})
    assert (
        client.post(
            f"/toolkits/{equity_toolkit.id}/submit", data={"expected_state": "draft"}
        ).status_code
        == 303
    )
    by_reader = {m.to_address: m for m in outbox() if m.kind == "toolkit.submitted"}
    assert "3.4 Develop an Open Space Plan" in by_reader[english.email].body_text
    assert "Elaborar un plan" not in the_whole_of(by_reader[english.email])
    assert "3.4 Elaborar un plan de espacios abiertos" in by_reader[spanish.email].body_text
