"""Starting an Equity Toolkit for a paired action."""

from __future__ import annotations

from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, StepAnswers, Toolkit
from tests.toolkit_helpers import make_toolkit


def test_start_page_lists_the_catalog_by_category_without_1_1(as_user, staff_user, cycle, catalog):
    html = as_user(staff_user).get("/towns/windham/toolkits/new").get_data(as_text=True)
    assert "3. Well-Stewarded Land and Natural Resources" in html
    assert "3.4 Develop an Open Space Plan" in html
    assert "1.1 Optimize for Equity" not in html


def test_start_page_search_filters_and_htmx_gets_only_the_list(as_user, staff_user, cycle, catalog):
    client = as_user(staff_user)
    html = client.get("/towns/windham/toolkits/new?q=open space").get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" in html and "5.4 Assess" not in html
    fragment = client.get(
        "/towns/windham/toolkits/new?q=5.4", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "5.4 Assess Climate Vulnerability" in fragment
    assert "<html" not in fragment and "3.4 Develop" not in fragment


def test_staff_start_a_toolkit_and_land_on_step_one(as_user, staff_user, cycle, catalog):
    client = as_user(staff_user)
    response = client.post(
        "/towns/windham/toolkits/new",
        data={"action_id": catalog["3.4"].id, "confirmed": "y"},
    )
    assert response.status_code == 303
    toolkit = db.session.query(Toolkit).one()
    assert response.headers["Location"] == f"/toolkits/{toolkit.id}/steps/context"
    assert toolkit.definition_version == "2024.1" and toolkit.state == "draft"
    assert db.session.query(StepAnswers).filter_by(toolkit_id=toolkit.id).count() == 6
    assert db.session.query(AuditEvent).filter_by(action="toolkit.started").count() == 1


def post_start(client, action_id, confirmed=True):
    data = {"action_id": action_id}
    if confirmed:
        data["confirmed"] = "y"
    return client.post("/towns/windham/toolkits/new", data=data)


def test_action_1_1_itself_is_refused(as_user, staff_user, cycle, catalog):
    response = post_start(as_user(staff_user), catalog["1.1"].id)
    assert response.status_code == 422
    assert "Action 1.1 is the equity process itself" in response.get_data(as_text=True)
    assert db.session.query(Toolkit).count() == 0


def test_an_action_paired_already_this_cycle_is_refused(as_user, staff_user, cycle, catalog):
    make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    response = post_start(as_user(staff_user), catalog["3.4"].id)
    assert response.status_code == 422
    assert "already has an Equity Toolkit for 3.4" in response.get_data(as_text=True)
    assert db.session.query(Toolkit).count() == 1


def test_an_action_outside_the_cycles_catalog_is_refused(as_user, staff_user, cycle, catalog):
    other_year = Action(
        catalog_year=2026, number="3.15", title="New thing", category=catalog["3.4"].category
    )
    db.session.add(other_year)
    db.session.commit()
    response = post_start(as_user(staff_user), other_year.id)
    assert response.status_code == 422
    assert "is not in the 2024 action catalog" in response.get_data(as_text=True)


def test_confirmation_is_required_and_the_choice_is_kept(as_user, staff_user, cycle, catalog):
    response = post_start(as_user(staff_user), catalog["5.4"].id, confirmed=False)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Confirm that this action is part of your town" in html
    assert f'value="{catalog["5.4"].id}"\n                 checked' in html or "checked" in html


def test_only_staff_of_the_town_may_start(as_user, town, other_staff_user, cycle, catalog):
    assert post_start(as_user(other_staff_user), catalog["3.4"].id).status_code == 404


def test_reviewer_cannot_start_a_toolkit(as_user, reviewer_user, town, cycle, catalog):
    assert as_user(reviewer_user).get("/towns/windham/toolkits/new").status_code == 403


def test_town_page_lists_toolkits_with_completeness_and_last_editor(
    as_user, staff_user, cycle, catalog
):
    make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    html = as_user(staff_user).get("/towns/windham").get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" in html
    assert "Your turn: in progress" in html
    assert staff_user.name in html
    assert "0%" in html
    assert "Start an Equity Toolkit" in html
