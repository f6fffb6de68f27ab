"""The program console's cycles: administrators open future cycles (blank or copied from the
last one), change a running cycle only after typing its name, and never change a past one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from sct_forms.admin import cycles as service
from sct_forms.cycles import current_cycle
from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Cycle
from tests.conftest import make_user
from tests.cycle_helpers import make_cycle

TODAY = date.today()
DAY = timedelta(days=1)


def future_cycle() -> Cycle:
    return make_cycle("Next Spring", TODAY + 40 * DAY, TODAY + 200 * DAY)


def running_cycle() -> Cycle:
    return make_cycle("This Season", TODAY - 20 * DAY, TODAY + 60 * DAY)


def past_cycle() -> Cycle:
    return make_cycle("Last Season", TODAY - 300 * DAY, TODAY - DAY)


def form_data(**changes) -> dict:
    """A form an administrator would send for a new future cycle."""
    data = {
        "name": "2027 Fall",
        "opens_on": (TODAY + 30 * DAY).isoformat(),
        "submission_deadline": (TODAY + 210 * DAY).isoformat(),
        "lookback_start": (TODAY - 1000 * DAY).isoformat(),
        "catalog_year": "2024",
        "bronze_actions": "1",
        "bronze_also": "",
        "silver_actions": "3",
        "silver_also": "",
        "gold_actions": "4",
        "gold_also": "1.2, 1.3",
        "training_elected_official": "",
        "training_municipal_staff": "",
        "training_commissioner": "",
        "training_sessions": "",
        "release_on": "",
        "confirmation": "",
    }
    data.update(changes)
    return data


def cycle_form(cycle: Cycle, **changes) -> dict:
    """The form of ``cycle`` as its page shows it, with ``changes``."""
    rules = {rule["tier"]: rule for rule in cycle.tier_rules_data}
    data = form_data(
        name=cycle.name,
        opens_on=cycle.opens_on.isoformat(),
        submission_deadline=cycle.submission_deadline.isoformat(),
        lookback_start=cycle.lookback_start.isoformat(),
        catalog_year=str(cycle.catalog_year),
        release_on=cycle.release_on.isoformat() if cycle.release_on else "",
    )
    for tier in ("bronze", "silver", "gold"):
        data[f"{tier}_actions"] = str(rules[tier]["distinct_actions"])
        data[f"{tier}_also"] = ", ".join(rules[tier]["also_required"])
    data.update(changes)
    return data


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def settings(**changes) -> service.CycleSettings:
    values = {
        "name": "2027 Fall",
        "opens_on": TODAY + 30 * DAY,
        "submission_deadline": TODAY + 210 * DAY,
        "lookback_start": TODAY - 1000 * DAY,
        "catalog_year": 2024,
        "tier_rules_data": DEFAULT_TIER_RULES,
    }
    values.update(changes)
    return service.CycleSettings(**values)


# --- creating ------------------------------------------------------------------------------


def test_an_administrator_creates_a_future_cycle_with_its_rules(as_user, admin_user, catalog):
    client = as_user(admin_user)
    page = client.get("/admin/cycles/new").get_data(as_text=True)
    assert '<label class="label" for="opens_on">Opening date</label>' in page
    assert "<legend>Gold</legend>" in page
    response = client.post(
        "/admin/cycles/new",
        data=form_data(
            gold_actions="5",
            training_elected_official="2",
            training_commissioner="1",
            training_sessions="2",
            release_on=(TODAY + 240 * DAY).isoformat(),
        ),
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    cycle = db.session.scalars(select(Cycle)).one()
    assert cycle.name == "2027 Fall"
    assert cycle.opens_on == TODAY + 30 * DAY
    assert [(r.tier, r.distinct_actions, r.also_required) for r in cycle.tier_rules] == [
        ("bronze", 1, ()),
        ("silver", 3, ()),
        ("gold", 5, ("1.2", "1.3")),
    ]
    assert cycle.training_rule_data == {
        "roles": {"elected_official": 2, "commissioner": 1},
        "sessions": 2,
    }
    assert cycle.release_on == TODAY + 240 * DAY
    (event,) = audit("cycle.created")
    assert event.actor_id == admin_user.id
    assert event.details["settings"]["opens_on"] == (TODAY + 30 * DAY).isoformat()
    assert event.details["settings"]["tier_rules_data"][2]["distinct_actions"] == 5
    listing = client.get("/admin/cycles").get_data(as_text=True)
    assert f'<a href="/admin/cycles/{cycle.id}">2027 Fall</a>' in listing
    assert "<td>Future</td>" in listing


def test_a_training_rule_left_empty_is_the_programs_rule(as_user, admin_user, catalog):
    response = as_user(admin_user).post("/admin/cycles/new", data=form_data())
    assert response.status_code == 303
    cycle = db.session.scalars(select(Cycle)).one()
    assert cycle.training_rule_data is None
    assert cycle.training_rule.sessions == 3


def test_copy_last_cycle_fills_its_rules_and_catalog_year_and_leaves_the_dates(
    as_user, admin_user, catalog
):
    make_cycle("Older", TODAY - 400 * DAY, TODAY - 200 * DAY)
    rules = [
        {"tier": "bronze", "distinct_actions": 2, "also_required": []},
        {"tier": "silver", "distinct_actions": 3, "also_required": ["1.3"]},
        {"tier": "gold", "distinct_actions": 6, "also_required": ["1.2", "1.3"]},
    ]
    make_cycle(
        "Latest",
        TODAY - 20 * DAY,
        TODAY + 60 * DAY,
        tier_rules_data=rules,
        training_rule_data={"roles": {"municipal_staff": 2}, "sessions": 4},
    )
    client = as_user(admin_user)
    assert 'href="/admin/cycles/copy-last"' in client.get("/admin/cycles").get_data(as_text=True)
    page = client.get("/admin/cycles/copy-last").get_data(as_text=True)
    assert "Copied from Latest" in page
    assert "The name and the dates are left empty" in page
    assert 'name="gold_actions" type="text" value="6"' in page
    assert 'name="silver_also" type="text" value="1.3"' in page
    assert 'name="training_municipal_staff" type="text" value="2"' in page
    assert 'name="training_sessions" type="text" value="4"' in page
    assert '<option selected value="2024">2024</option>' in page
    assert 'name="opens_on" type="date" value=""' in page
    assert 'maxlength="60" name="name" type="text" value=""' in page


def test_a_deadline_before_the_opening_is_refused_beside_its_field_keeping_what_was_typed(
    as_user, admin_user, catalog
):
    opens = TODAY + 30 * DAY
    deadline = TODAY + 10 * DAY
    response = as_user(admin_user).post(
        "/admin/cycles/new",
        data=form_data(
            name="Typed name",
            gold_also="1.2, 1.3",
            submission_deadline=deadline.isoformat(),
            release_on=(TODAY + 5 * DAY).isoformat(),
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: New cycle" in html
    message = "The submission deadline must be after the opening date."
    assert f'<li><a href="#submission_deadline">{message}</a></li>' in html
    assert f'<p class="error-message" id="submission_deadline-error">{message}</p>' in html
    assert 'id="release_on-error">The release date must be on or after the submission' in html
    assert f'name="submission_deadline" type="date" value="{deadline.isoformat()}"' in html
    assert f'name="opens_on" type="date" value="{opens.isoformat()}"' in html
    assert 'value="Typed name"' in html and 'value="1.2, 1.3"' in html
    assert db.session.scalars(select(Cycle)).all() == []
    assert audit("cycle.created") == []


def test_a_date_that_is_not_a_date_comes_back_as_typed(as_user, admin_user, catalog):
    response = as_user(admin_user).post(
        "/admin/cycles/new", data=form_data(lookback_start="2027-13-45", gold_actions="four")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="lookback_start-error">Enter a date as year-month-day' in html
    assert 'name="lookback_start" type="date" value="2027-13-45"' in html
    assert 'id="gold_actions-error">Enter a whole number, such as 3.' in html
    assert 'value="four"' in html


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"lookback_start": TODAY + 31 * DAY}, "lookback_start", "lookback_after_opening"),
        ({"release_on": TODAY + 209 * DAY}, "release_on", "release_before_deadline"),
        ({"opens_on": TODAY}, "opens_on", "new_cycle_not_future"),
        ({"name": "  "}, "name", "name_missing"),
        ({"catalog_year": 1999}, "catalog_year", "catalog_unknown"),
        (
            {
                "tier_rules_data": [
                    {"tier": "bronze", "distinct_actions": 2, "also_required": []},
                    {"tier": "silver", "distinct_actions": 1, "also_required": []},
                    {"tier": "gold", "distinct_actions": 4, "also_required": ["9.99"]},
                ]
            },
            "silver_actions",
            "fewer_than_lower_tier",
        ),
        (
            {
                "tier_rules_data": [
                    {"tier": "bronze", "distinct_actions": 1, "also_required": []},
                    {"tier": "silver", "distinct_actions": 3, "also_required": []},
                    {"tier": "gold", "distinct_actions": 4, "also_required": ["9.99"]},
                ]
            },
            "gold_also",
            "action_not_in_catalog",
        ),
        (
            {"training_rule_data": {"roles": {}, "sessions": 2}},
            "training_sessions",
            "training_rule",
        ),
    ],
)
def test_settings_that_do_not_fit_are_refused_and_nothing_is_created(
    admin_user, catalog, changes, field, code
):
    if changes.get("name", "").strip() == "":
        changes = {**changes, "name": changes.get("name", "2027 Fall").strip()}
    with pytest.raises(service.CycleInvalidError) as refused:
        service.create_cycle(admin_user, settings(**changes), TODAY)
    assert (field, code) in [(p.field, p.code) for p in refused.value.problems]
    db.session.rollback()
    assert db.session.scalars(select(Cycle)).all() == []


def test_a_cycle_name_is_unique_whatever_its_case(as_user, admin_user, catalog):
    future_cycle()
    response = as_user(admin_user).post("/admin/cycles/new", data=form_data(name="next spring"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="name-error">A cycle named next spring already exists.' in html
    assert db.session.query(Cycle).count() == 1


# --- changing ------------------------------------------------------------------------------


def test_a_future_cycle_changes_without_confirmation_and_the_change_is_audited(
    as_user, admin_user, catalog
):
    cycle = future_cycle()
    client = as_user(admin_user)
    page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "Phase: <strong>Future</strong>" in page
    assert 'name="confirmation"' not in page
    new_deadline = cycle.submission_deadline + 10 * DAY
    response = client.post(
        f"/admin/cycles/{cycle.id}",
        data=cycle_form(cycle, submission_deadline=new_deadline.isoformat()),
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.submission_deadline == new_deadline
    (event,) = audit("cycle.changed")
    assert event.details["changes"] == {
        "submission_deadline": {
            "before": (new_deadline - 10 * DAY).isoformat(),
            "after": new_deadline.isoformat(),
        }
    }
    assert event.details["confirmed_running"] is False


def test_a_future_cycle_moved_to_open_today_asks_for_the_confirmation(as_user, admin_user, catalog):
    cycle = future_cycle()
    client = as_user(admin_user)
    response = client.post(
        f"/admin/cycles/{cycle.id}", data=cycle_form(cycle, opens_on=TODAY.isoformat())
    )
    assert response.status_code == 422
    assert "Type the cycle&#39;s name, Next Spring, to confirm" in response.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.opens_on == TODAY + 40 * DAY


def test_a_running_cycle_changes_only_after_its_name_is_typed_and_the_audit_says_before_and_after(
    as_user, admin_user, catalog
):
    cycle = running_cycle()
    client = as_user(admin_user)
    page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "This cycle is running: towns' levels may change." in page
    assert '<label class="label" for="confirmation">' in page
    url = f"/admin/cycles/{cycle.id}"

    unconfirmed = client.post(url, data=cycle_form(cycle, gold_actions="5"))
    html = unconfirmed.get_data(as_text=True)
    assert unconfirmed.status_code == 422
    assert '<li><a href="#confirmation">Type the cycle&#39;s name, This Season' in html
    assert "What you are changing" in html and '<th scope="row">Tier rules</th>' in html
    assert 'name="gold_actions" type="text" value="5"' in html

    mistyped = client.post(url, data=cycle_form(cycle, gold_actions="5", confirmation="This"))
    assert mistyped.status_code == 422
    assert "The name you typed is not this cycle&#39;s name." in mistyped.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.tier_rules[2].distinct_actions == 4
    assert audit("cycle.changed") == []

    confirmed = client.post(
        url, data=cycle_form(cycle, gold_actions="5", confirmation="this season")
    )
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.tier_rules[2].distinct_actions == 5
    (event,) = audit("cycle.changed")
    assert event.details["phase"] == "running"
    assert event.details["confirmed_running"] is True
    change = event.details["changes"]["tier_rules_data"]
    assert change["before"][2] == {
        "tier": "gold",
        "distinct_actions": 4,
        "also_required": ["1.2", "1.3"],
    }
    assert change["after"][2] == {
        "tier": "gold",
        "distinct_actions": 5,
        "also_required": ["1.2", "1.3"],
    }
    assert set(event.details["changes"]) == {"tier_rules_data"}


def test_a_running_cycle_keeps_its_catalog_year_and_stays_opened(admin_user, catalog):
    cycle = running_cycle()
    category = catalog["1.2"].category
    db.session.add(Action(catalog_year=2027, number="1.2", title="Training", category=category))
    db.session.commit()
    moved = service.settings_of(cycle)
    moved = service.CycleSettings(
        **{**moved.__dict__, "catalog_year": 2027, "opens_on": TODAY + DAY}
    )
    with pytest.raises(service.CycleInvalidError) as refused:
        service.update_cycle(admin_user, cycle, moved, TODAY, confirmation=cycle.name)
    codes = {(p.field, p.code) for p in refused.value.problems}
    assert ("catalog_year", "running_catalog_fixed") in codes
    assert ("opens_on", "running_cannot_reopen_later") in codes


def test_editing_a_past_cycle_is_refused(admin_user, catalog):
    cycle = past_cycle()
    changed = service.CycleSettings(**{**service.settings_of(cycle).__dict__, "name": "Renamed"})
    with pytest.raises(service.CycleRefusedError) as refused:
        service.update_cycle(admin_user, cycle, changed, TODAY, confirmation=cycle.name)
    assert refused.value.code == "past"
    db.session.expire_all()
    assert cycle.name == "Last Season"
    assert audit("cycle.changed") == []


def test_a_past_cycles_page_has_no_form_and_its_post_is_refused(as_user, admin_user, catalog):
    cycle = past_cycle()
    client = as_user(admin_user)
    page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "can no longer change" in page
    assert f'action="/admin/cycles/{cycle.id}"' not in page
    assert 'name="gold_actions"' not in page
    response = client.post(
        f"/admin/cycles/{cycle.id}", data=cycle_form(cycle, name="Renamed", confirmation="x")
    )
    assert response.status_code == 409
    assert "its settings can no longer change" in response.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.name == "Last Season"
    assert audit("cycle.changed") == []


def test_current_cycle_is_the_running_one_not_the_future_one(app, catalog):
    past_cycle()
    running = running_cycle()
    future_cycle()
    assert current_cycle(TODAY) == running
    assert current_cycle(TODAY - 400 * DAY).name == "Last Season"  # none opened: the next


# --- who may ---------------------------------------------------------------------------------

REFUSED_ROLES = ("staff", "reviewer", "coach")


@pytest.fixture
def refused_user(request, town, password_hash):
    role = request.param
    return make_user(
        role, f"{role}.person@sct.test", password_hash, town if role == "staff" else None
    )


@pytest.mark.parametrize("refused_user", REFUSED_ROLES, indirect=True)
def test_other_roles_are_refused_every_cycle_page_and_change(as_user, refused_user, catalog):
    cycle = future_cycle()
    client = as_user(refused_user)
    for path in (
        "/admin/cycles",
        "/admin/cycles/new",
        "/admin/cycles/copy-last",
        f"/admin/cycles/{cycle.id}",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/cycles/new", data=form_data()).status_code == 403
    renamed = cycle_form(cycle, name="Renamed")
    assert client.post(f"/admin/cycles/{cycle.id}", data=renamed).status_code == 403
    db.session.expire_all()
    assert db.session.query(Cycle).count() == 1 and cycle.name == "Next Spring"
    assert audit("cycle.created") == [] and audit("cycle.changed") == []


@pytest.mark.parametrize("refused_user", REFUSED_ROLES, indirect=True)
def test_the_service_refuses_other_roles(refused_user, catalog):
    cycle = future_cycle()
    renamed = service.CycleSettings(**{**service.settings_of(cycle).__dict__, "name": "Renamed"})
    calls = [
        lambda: service.all_cycles(refused_user),
        lambda: service.copy_of_latest(refused_user),
        lambda: service.check_settings(refused_user, settings(), None, TODAY),
        lambda: service.create_cycle(refused_user, settings(), TODAY),
        lambda: service.update_cycle(refused_user, cycle, renamed, TODAY),
    ]
    for call in calls:
        with pytest.raises(service.CycleRefusedError) as refused:
            call()
        assert refused.value.code == "not_allowed"
    db.session.expire_all()
    assert db.session.query(Cycle).count() == 1 and cycle.name == "Next Spring"


def test_the_administration_page_links_to_the_cycles(as_user, admin_user):
    page = as_user(admin_user).get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/cycles">Certification cycles' in page
