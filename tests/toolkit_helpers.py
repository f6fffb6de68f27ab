"""Filling in toolkits in tests."""

from __future__ import annotations

from datetime import date

from sct_forms.domain.forms import Form
from sct_forms.domain.toolkit_definition import load_definition
from sct_forms.extensions import db
from sct_forms.models import Evidence, StepAnswers, Toolkit, User

COMPLETE_ANSWERS = {
    "context": {
        "goals": "Plan open space that every neighborhood can reach on foot.",
        "team": "Parks director (lead), planner, two residents from the Latino community.",
        "community_data": "Census tract data, park access maps, the 2022 resident survey.",
        "start_date": "2026-01-15",
    },
    "affected_and_missing": {
        "how_identified": "We mapped who lives farthest from a park and asked partners.",
        "groups": [
            {
                "name": "Spanish-speaking families in the north end",
                "effect": "They live farthest from any park.",
                "usually_missing": "yes",
                "barriers": ["language", "schedule"],
                "other_barriers": "",
            }
        ],
    },
    "outreach": {
        "activities": [
            {
                "date": "2026-02-10",
                "method": "door_to_door",
                "languages": "Spanish, English",
                "groups_reached": "North end families",
                "partners": "Windham Area Interfaith Ministry",
            }
        ],
        "accommodations": ["interpretation", "childcare"],
        "accommodations_detail": "",
    },
    "engagement": {
        "events": [
            {
                "date": "2026-03-04",
                "format": "workshop",
                "participants": "42",
                "groups_represented": "North end families, youth",
                "languages": "Spanish",
                "accommodations": "Childcare and food",
            }
        ],
        "what_people_said": "People want a playground within a ten-minute walk.",
        "shared_decisions": "Residents voted on the three sites.",
    },
    "outcomes": {
        "changes": [
            {
                "what_changed": "Added a pocket park on Main Street.",
                "because_of": "Families said the nearest park was too far.",
                "who_benefits": "North end families",
            }
        ],
        "closing_the_loop": "We presented the plan at a bilingual meeting.",
        "report_back_date": "",
    },
    "reflection": {
        "lessons": "Start with partners people already trust.",
        "do_differently": "Hold meetings on weekends.",
        "continuing_engagement": "A resident advisory group meets every quarter.",
        "coach_used": "",
    },
}


def form_fields(step_key: str, answers: dict) -> dict[str, list[str] | str]:
    """A step's answers in the shape its form posts."""
    fields: dict[str, list[str] | str] = {}
    for key, value in answers.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for index, row in enumerate(value):
                for sub_key, sub_value in row.items():
                    fields[f"{key}-{index}-{sub_key}"] = sub_value
        else:
            fields[key] = value
    return fields


def step_version(toolkit: Toolkit, step_key: str) -> int:
    db.session.expire_all()
    return (
        db.session.query(StepAnswers)
        .filter_by(toolkit_id=toolkit.id, step_key=step_key)
        .one()
        .version
    )


def make_toolkit(town, cycle, action, user: User) -> Toolkit:
    """A draft Equity Toolkit paired with ``action``, written directly."""
    return make_record(town, cycle, action, Form.TOOLKIT, user)


def fill_completely(toolkit: Toolkit, user: User, with_evidence: bool = True) -> None:
    """Answers and evidence that make every step complete, written directly."""
    for row in toolkit.steps:
        row.data = COMPLETE_ANSWERS[row.step_key]
        row.version += 1
    if with_evidence:
        for step_key in ("outreach", "engagement"):
            add_document(toolkit, step_key, "Flyer", "0", user)
    db.session.commit()


TODAY = date.today()


# --- the records of actions 1.2 and 1.3 ----------------------------------------------------------

TRAINING_COMPLETE_ANSWERS = {
    "series": {
        "cohort": "winter",
        "other_series": "",
        "sessions": [
            {"date": "2026-01-14", "topic": "Why equity"},
            {"date": "2026-02-11", "topic": "Who is missing"},
            {"date": "2026-03-11", "topic": "Sharing decisions"},
        ],
    },
    "delegation": {
        "members": [
            {
                "name": "Rosa Diaz",
                "role": "elected_official",
                "email": "",
                "attended": ["session_1", "session_2", "session_3"],
            },
            {
                "name": "Dana Ortiz",
                "role": "municipal_staff",
                "email": "dana@example.org",
                "attended": ["session_1", "session_2", "session_3"],
            },
            {
                "name": "Lee Park",
                "role": "commissioner",
                "email": "",
                "attended": ["session_1", "session_2", "session_3"],
            },
        ]
    },
    "confirmation": {"notes": ""},
}

STATEMENT_COMPLETE_ANSWERS = {
    "statement": {
        "text": "Our town commits to hear every resident, in their language, before it decides.",
        "governing_body": "Town Council",
        "adopted_on": "2026-04-07",
        "adopted_by": "resolution",
    },
    "adoption_record": {"meeting": "Town Council, regular meeting, item 7"},
    "publication": {
        "where": "https://example.org/equity-statement and the town hall lobby",
        "languages": ["english", "spanish"],
        "shared": "",
    },
}

RECORD_ANSWERS = {
    Form.TRAINING: (TRAINING_COMPLETE_ANSWERS, "confirmation"),
    Form.STATEMENT: (STATEMENT_COMPLETE_ANSWERS, "adoption_record"),
}


def make_record(town, cycle, action, form: Form, user: User) -> Toolkit:
    """A draft record of ``form``, written directly: for 1.2 or 1.3 ``action`` is that action,
    for a toolkit the paired action."""
    definition = load_definition("2024.1", form)
    record = Toolkit(
        municipality_id=town.id,
        cycle_id=cycle.id,
        form=form,
        paired_action_id=action.id,
        definition_version=definition.version,
        state="draft",
        confirmed_in_submission=True,
        created_by_id=user.id,
        updated_by_id=user.id,
    )
    record.steps = [StepAnswers(step_key=s.key, data={}, version=0) for s in definition.steps]
    db.session.add(record)
    db.session.commit()
    return record


def fill_record_completely(record: Toolkit, user: User) -> None:
    """Answers and the one evidence file that make every step of a 1.2 or 1.3 record complete."""
    answers, evidence_step = RECORD_ANSWERS[Form(record.form)]
    for row in record.steps:
        row.data = answers[row.step_key]
        row.version += 1
    add_document(record, evidence_step, "Minutes", "1", user)
    db.session.commit()


def add_document(record: Toolkit, step_key: str, title: str, digit: str, user: User) -> None:
    """A PDF's evidence row on one step (no stored file), for completeness and snapshots."""
    db.session.add(
        Evidence(
            toolkit=record,
            municipality_id=record.municipality_id,
            step_key=step_key,
            title=title,
            kind="document",
            mime_type="application/pdf",
            display_name=f"{title.lower()}.pdf",
            size=10,
            sha256=digit * 64,
            storage_name=f"test-{step_key}-{record.id}-xxxxxxxxxxxxxxxx",
            uploaded_by_id=user.id,
        )
    )
