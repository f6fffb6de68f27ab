"""The statewide view of a cycle (reviewers and administrators) and the public list of
certified towns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from sct_forms.domain.forms import Form
from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Certificate, Cycle, Municipality, Toolkit, utcnow
from sct_forms.review import services as review
from sct_forms.statewide.presenters import statewide_figures
from tests.conftest import make_town
from tests.sql_helpers import counted_statements
from tests.toolkit_helpers import fill_completely, make_record, make_toolkit

NOW = utcnow()


def days_ago(days: float):
    return NOW - timedelta(days=days)


def put(record: Toolkit, state: str, submitted_days_ago: float | None = None, reviewer=None):
    record.state = state
    if submitted_days_ago is not None:
        record.submitted_at = days_ago(submitted_days_ago)
        record.revision_count = 1
    record.assigned_reviewer_id = reviewer.id if reviewer else None


def audit(record: Toolkit, action: str, days: float, actor) -> None:
    db.session.add(
        AuditEvent(
            action=action,
            actor_id=actor.id,
            object_type="toolkit",
            object_id=str(record.id),
            municipality_id=record.municipality_id,
            at=days_ago(days),
        )
    )


@dataclass
class Statewide:
    cycle: Cycle
    towns: dict[str, Municipality]
    first: object  # reviewers
    second: object


@pytest.fixture
def statewide(cycle, catalog, staff_user, reviewer_user, second_reviewer_user) -> Statewide:
    """Five towns: Windham at Bronze, Mansfield at Silver, Ashford with two records waiting
    (target Bronze), Chaplin with a draft and a record of 1.2 waiting, Hampton with nothing.

    Decisions waited 4, 2, 1, 6 and 3 days: the median is 3.
    """
    windham = staff_user.municipality
    towns = {"Windham": windham}
    for name, fips in (
        ("Mansfield", "901344910"),
        ("Ashford", "901301080"),
        ("Chaplin", "901513810"),
        ("Hampton", "901535650"),
    ):
        towns[name] = make_town(name, fips)
    first, second = reviewer_user, second_reviewer_user

    def toolkit(town: str, number: str) -> Toolkit:
        return make_toolkit(towns[town], cycle, catalog[number], staff_user)

    w34 = toolkit("Windham", "3.4")
    put(w34, "approved", 10)
    audit(w34, "toolkit.submitted", 10, staff_user)
    audit(w34, "toolkit.approved", 6, first)

    m34, m312, m54 = (
        toolkit("Mansfield", "3.4"),
        toolkit("Mansfield", "3.12"),
        toolkit("Mansfield", "5.4"),
    )
    put(m34, "approved", 12)
    audit(m34, "toolkit.submitted", 20, staff_user)
    audit(m34, "toolkit.changes_requested", 18, first)
    audit(m34, "toolkit.resubmitted", 12, staff_user)
    audit(m34, "toolkit.approved", 11, second)
    put(m312, "approved", 9)
    audit(m312, "toolkit.submitted", 9, staff_user)
    audit(m312, "toolkit.approved", 3, second)
    put(m54, "approved", 8)
    audit(m54, "toolkit.submitted", 8, staff_user)
    audit(m54, "toolkit.approved", 5, first)

    put(toolkit("Ashford", "3.4"), "submitted", 3)
    put(toolkit("Ashford", "5.7"), "in_review", 15, first)

    put(toolkit("Chaplin", "5.4"), "draft")
    training = make_record(towns["Chaplin"], cycle, catalog["1.2"], Form.TRAINING, staff_user)
    put(training, "in_review", 40, second)
    db.session.commit()
    return Statewide(cycle, towns, first, second)


def test_figures_count_levels_targets_toolkits_queue_ages_and_median_days(statewide):
    figures = statewide_figures(statewide.cycle, NOW)

    assert figures.towns == 5
    assert figures.towns_taking_part == 4
    assert figures.reached == {"none": 3, "bronze": 1, "silver": 1, "gold": 0}
    # Ashford's two waiting toolkits would make Bronze; Chaplin's 1.2 is no toolkit.
    assert figures.target == {"none": 2, "bronze": 2, "silver": 1, "gold": 0}
    assert figures.toolkits == 7
    assert figures.with_reviewers == 3
    assert (figures.median_days, figures.decisions) == (3.0, 5)

    charts = {chart.id: chart for chart in figures.charts}
    states = {row.label: row.values[0] for row in charts["chart-states"].rows}
    assert states == {
        "Draft": 1,
        "Submitted": 1,
        "In review": 1,
        "Changes requested": 0,
        "Approved": 4,
        "Not approved": 0,
        "Withdrawn": 0,
    }
    categories = {row.label: row.values[0] for row in charts["chart-categories"].rows}
    assert categories == {
        "3. Well-Stewarded Land and Natural Resources": 4,
        "5. Dynamic and Resilient Planning": 3,
    }
    ages = [row.values[0] for row in charts["chart-ages"].rows]
    assert ages == [1, 0, 1, 1]  # 3 days, 15 days, 40 days
    workload = {load.name: (load.held, load.decided) for load in figures.workload}
    assert workload == {statewide.first.name: (1, 3), statewide.second.name: (1, 2)}


def test_page_shows_each_chart_with_its_table(statewide, as_user, reviewer_user):
    response = as_user(reviewer_user).get("/statewide/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('role="img"') == 6
    for chart in ("reached", "target", "states", "categories", "ages", "workload"):
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
        assert f'<title id="chart-{chart}-title">' in html
    assert html.count('<table class="chart-table">') == 6
    assert html.count('<caption class="visually-hidden">') == 6
    assert '<h3 class="chart-title">Towns by the level reached</h3>' in html
    reached = html.split('id="chart-reached-title"')[1].split("</table>")[0]
    assert '<tr><th scope="row">Bronze</th><td>1</td></tr>' in reached
    assert '<tr><th scope="row">Silver</th><td>1</td></tr>' in reached
    target = html.split('id="chart-target-title"')[1].split("</table>")[0]
    assert '<tr><th scope="row">Bronze</th><td>2</td></tr>' in target
    assert f'<th scope="row">{statewide.first.name}</th><td>1</td><td>3</td>' in html
    assert 'id="figure-median">3 days' in " ".join(html.split())


def test_another_cycle_is_chosen_by_its_id(statewide, as_user, admin_user, catalog):
    spring = Cycle(
        name="2026 Spring",
        opens_on=date(2026, 1, 1),
        submission_deadline=date(2026, 6, 30),
        lookback_start=date(2023, 1, 1),
        catalog_year=2024,
        tier_rules_data=DEFAULT_TIER_RULES,
    )
    db.session.add(spring)
    db.session.commit()
    client = as_user(admin_user)

    current = client.get("/statewide/").get_data(as_text=True)
    chosen = client.get(f"/statewide/?cycle={spring.id}").get_data(as_text=True)

    assert "2026 Fall" in current.split("<h1>")[1].split("</form>")[0]
    assert 'id="figure-toolkits">7<' in current
    assert "the 2026 Spring cycle" in chosen
    assert 'id="figure-toolkits">0<' in chosen
    assert client.get("/statewide/?cycle=999999").status_code == 404


@pytest.mark.parametrize("role", ["staff", "coach"])
def test_staff_and_coaches_are_refused(statewide, as_user, staff_user, coach_user, role):
    user = {"staff": staff_user, "coach": coach_user}[role]
    assert as_user(user).get("/statewide/").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(statewide, client):
    response = client.get("/statewide/")
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["Location"]


def test_a_real_decision_is_counted(cycle, catalog, staff_user, reviewer_user):
    """The audit verbs the figures read are those the review workflow writes."""
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    review.submit(toolkit, staff_user, "draft")
    review.start_review(toolkit, reviewer_user, "submitted")
    review.decide(toolkit, "not_approve", reviewer_user, "in_review", "Work began too early.")

    figures = statewide_figures(cycle, utcnow())

    assert figures.decisions == 1
    assert figures.median_days == 0.0
    assert [(w.name, w.held, w.decided) for w in figures.workload] == [(reviewer_user.name, 0, 1)]




def test_the_page_issues_as_many_statements_for_169_towns_as_for_5(
    statewide, as_user, reviewer_user, staff_user
):
    client = as_user(reviewer_user)
    client.get("/statewide/")  # the first request warms what is cached once per app
    with counted_statements() as five:
        assert client.get("/statewide/").status_code == 200

    more = [
        Municipality(
            name=f"Town {n}",
            slug=f"town-{n}",
            county="Tolland",
            planning_region="Capitol Planning Region",
            council_of_governments="Capitol Region COG",
            fips=f"9{n:08d}",
        )
        for n in range(164)
    ]
    db.session.add_all(more)
    db.session.commit()
    action = db.session.query(Action).filter_by(number="3.12").one()
    for town in more[::8]:
        put(make_toolkit(town, statewide.cycle, action, staff_user), "submitted", 2)
    db.session.commit()
    assert db.session.query(Municipality).count() == 169

    with counted_statements() as all_towns:
        response = client.get("/statewide/")
    assert response.status_code == 200
    assert 'id="figure-towns">169<' in response.get_data(as_text=True)
    assert len(all_towns) == len(five), (five, all_towns)


# --- the public list of certified towns ---------------------------------------------------------


def certificate(town, cycle, tier, serial, status="valid", expires_on=date(2028, 12, 31)):
    row = Certificate(
        serial=serial,
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier=tier,
        expires_on=expires_on,
        status=status,
    )
    db.session.add(row)
    return row


def test_public_list_shows_only_valid_certificates_newest_cycle_first(
    client, cycle, town, other_town
):
    earlier = Cycle(
        name="2022 Fall",
        opens_on=date(2022, 7, 1),
        submission_deadline=date(2022, 12, 31),
        lookback_start=date(2019, 7, 1),
        catalog_year=2024,
        tier_rules_data=DEFAULT_TIER_RULES,
    )
    db.session.add(earlier)
    ashford = make_town("Ashford", "901301080")
    certificate(town, cycle, "bronze", "SCT-2026-AAAA-BBBB", status="superseded")
    certificate(town, cycle, "silver", "SCT-2026-CCCC-DDDD")
    certificate(other_town, cycle, "bronze", "SCT-2026-EEEE-FFFF", status="revoked")
    certificate(ashford, cycle, "gold", "SCT-2026-GGGG-HHHH")
    certificate(other_town, earlier, "bronze", "SCT-2022-JJJJ-KKKK", expires_on=date(2024, 12, 31))
    db.session.commit()

    response = client.get("/certified-towns")

    assert response.status_code == 200
    html = " ".join(response.get_data(as_text=True).split())
    assert 'href="/verify/SCT-2026-CCCC-DDDD"' in html
    assert 'href="/verify/SCT-2026-GGGG-HHHH"' in html
    assert 'href="/verify/SCT-2022-JJJJ-KKKK"' in html
    assert "SCT-2026-AAAA-BBBB" not in html  # superseded by Silver
    assert "SCT-2026-EEEE-FFFF" not in html  # revoked
    assert html.index(">2026 Fall</h2>") < html.index(">2022 Fall</h2>")
    fall = html.split(">2026 Fall</h2>")[1].split(">2022 Fall</h2>")[0]
    assert fall.index("Ashford") < fall.index("Windham")  # by town's name
    assert "Mansfield" not in fall
    assert "Expired on December 31, 2024" in html.split(">2022 Fall</h2>")[1]
    assert "Valid through December 31, 2028" in fall


def test_public_list_needs_no_sign_in_and_says_when_there_is_none(client, app):
    response = client.get("/certified-towns")
    assert response.status_code == 200
    assert "No town holds a certificate yet." in response.get_data(as_text=True)


def test_the_verify_page_links_to_the_public_list(client, app):
    assert 'href="/certified-towns"' in client.get("/verify").get_data(as_text=True)
