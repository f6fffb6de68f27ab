"""Towns, people and toolkits for the benchmarks, made through the app's own services.

Toolkits are started, answered step by step, given evidence through the real upload service
(so photos get their print copies), submitted, and reviewed as the app does it. Only accounts
are written as rows: each real password hash costs about half a second, so every benchmark
account shares one hash of :data:`PASSWORD`, made once by the app's own hasher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from bench.files import blank_pdf, survey_csv
from bench.instance import BenchError
from sct_forms.auth.passwords import hash_password
from sct_forms.cycles import current_cycle
from sct_forms.domain.forms import OWN_ACTION
from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State
from sct_forms.evidence import services as evidence_services
from sct_forms.extensions import db
from sct_forms.models import Action, Cycle, Municipality, Toolkit, User
from sct_forms.review import services as review_services
from sct_forms.toolkits import services as toolkit_services

PASSWORD = "bench sct-forms: maple lantern harbor 2026"
EMAIL_DOMAIN = "bench.sct-forms.test"
APPROVE = "approve"  # the reviewer's decision (review_services.DECISIONS)


def complete_answers(today: date) -> dict[str, dict]:
    """Answers that make every step of an Equity Toolkit complete (evidence aside).

    Dates fall a few weeks before ``today``: inside any cycle's lookback window, never ahead.
    """

    def day(weeks: int) -> str:
        return (today - timedelta(weeks=weeks)).isoformat()

    return {
        "context": {
            "goals": "Plan open space that every neighborhood can reach on foot.",
            "team": "Parks director (lead), planner, two residents from the Latino community.",
            "community_data": "Census tract data, park access maps, the 2022 resident survey.",
            "start_date": day(20),
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
                    "date": day(16),
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
                    "date": day(12),
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


@dataclass(frozen=True)
class Upload:
    """One evidence file to attach to a step."""

    step_key: str
    data: bytes
    filename: str
    title: str
    alt_text: str = ""

    @property
    def is_photo(self) -> bool:
        return bool(self.alt_text)


def light_uploads() -> list[Upload]:
    """The least evidence that completes a toolkit: a one-page flyer and a survey export."""
    return [
        Upload("outreach", blank_pdf(), "flyer.pdf", "Bilingual flyer"),
        Upload("engagement", survey_csv(), "survey.csv", "Survey results"),
    ]


class World:
    """Makes towns' people and toolkits in the current cycle of the app in context."""

    def __init__(self) -> None:
        today = date.today()
        cycle = current_cycle(today)
        if cycle is None:
            raise BenchError("the instance has no cycle: was it seeded?")
        self.cycle_id = cycle.id
        self.answers = complete_answers(today)
        self.password_hash = hash_password(PASSWORD)
        self.town_ids = list(
            db.session.scalars(select(Municipality.id).order_by(Municipality.name))
        )
        # Actions 1.2 and 1.3 have forms of their own; a toolkit pairs with any other.
        own_actions = set(OWN_ACTION.values())
        self.action_ids = [
            action.id
            for _category, actions in toolkit_services.pairable_actions(self.town(0), cycle)
            for action in actions
            if action.number not in own_actions
        ]
        self._people = 0

    @property
    def cycle(self) -> Cycle:
        return db.session.get(Cycle, self.cycle_id)

    def town(self, index: int) -> Municipality:
        """The index-th town by name."""
        if index >= len(self.town_ids):
            raise BenchError(f"{len(self.town_ids)} towns are seeded; town {index} was asked for")
        return db.session.get(Municipality, self.town_ids[index])

    def action(self, index: int) -> Action:
        if index >= len(self.action_ids):
            raise BenchError(f"the catalog has {len(self.action_ids)} actions to pair with")
        return db.session.get(Action, self.action_ids[index])

    # --- people ---------------------------------------------------------------------------

    def person(self, role: Role, town: Municipality | None = None) -> User:
        """An active account that signs in with :data:`PASSWORD`."""
        self._people += 1
        where = town.slug if town is not None else "program"
        user = User(
            email=f"{role.value}-{self._people}-{where}@{EMAIL_DOMAIN}",
            name=f"Bench {role.value.title()} {self._people}",
            role=role,
            municipality=town if role == Role.STAFF else None,
            password_hash=self.password_hash,
        )
        db.session.add(user)
        db.session.commit()
        return user

    # --- toolkits -------------------------------------------------------------------------

    def start(self, town: Municipality, staff: User, action: Action) -> Toolkit:
        return toolkit_services.start_toolkit(town, self.cycle, action.id, True, staff)

    def answer(self, toolkit: Toolkit, staff: User) -> None:
        """Save every step's answers, as the step pages save them."""
        for step in toolkit_services.definition_for(toolkit).steps:
            row = toolkit.step_answers(step.key)
            result = toolkit_services.save_step(
                toolkit, step.key, self.answers[step.key], row.version, staff
            )
            if not result.saved:
                raise BenchError(f"saving step {step.key} of toolkit {toolkit.id} was refused")

    def attach(self, toolkit: Toolkit, staff: User, uploads: Iterable[Upload]) -> None:
        for upload in uploads:
            evidence_services.add_evidence(
                toolkit,
                upload.step_key,
                data=upload.data,
                filename=upload.filename,
                title=upload.title,
                alt_text=upload.alt_text,
                people_consented=upload.is_photo,
                user=staff,
            )

    def submit(self, toolkit: Toolkit, staff: User) -> None:
        progress = toolkit_services.toolkit_completeness(toolkit)
        if not progress.is_complete:
            missing = [
                f"{step.step_key}: {', '.join(m.code for m in step.missing)}"
                for step in progress.steps
                if step.missing
            ]
            raise BenchError(f"toolkit {toolkit.id} is not complete: {'; '.join(missing)}")
        review_services.submit(toolkit, staff, State.DRAFT)

    def approve(self, toolkit: Toolkit, reviewer: User) -> None:
        review_services.start_review(toolkit, reviewer, State.SUBMITTED)
        review_services.decide(toolkit, APPROVE, reviewer, State.IN_REVIEW)

    def toolkit(
        self,
        town: Municipality,
        staff: User,
        action: Action,
        uploads: Iterable[Upload],
        *,
        submit: bool = False,
        approve_by: User | None = None,
    ) -> Toolkit:
        """A toolkit answered in full with ``uploads`` attached; submitted or approved if asked."""
        toolkit = self.start(town, staff, action)
        self.answer(toolkit, staff)
        self.attach(toolkit, staff, uploads)
        if submit or approve_by is not None:
            self.submit(toolkit, staff)
        if approve_by is not None:
            self.approve(toolkit, approve_by)
        return toolkit
