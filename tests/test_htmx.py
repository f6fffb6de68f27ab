"""htmx requests get a part of a page; a history restore after a cache miss gets the whole page."""

from __future__ import annotations

import pytest

from tests.toolkit_helpers import fill_completely, make_toolkit

HX = {"HX-Request": "true"}
# What htmx sends when the back button reaches a page that is not in its history cache.
HISTORY_RESTORE = HX | {"HX-History-Restore-Request": "true"}


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


def test_the_queue_filtered_by_htmx_is_a_fragment_but_restored_from_history_a_whole_page(
    as_user, staff_user, reviewer_user, toolkit
):
    fill_completely(toolkit, staff_user)
    staff = as_user(staff_user)
    submit = staff.post(f"/toolkits/{toolkit.id}/submit", data={"expected_state": "draft"})
    assert submit.status_code == 303
    staff.post("/sign-out")
    client = as_user(reviewer_user)
    url = f"/review/queue?town={toolkit.municipality_id}"

    fragment = client.get(url, headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "Windham: 3.4" in html and "<html" not in html and 'id="queue-results"' in html

    restored = client.get(url, headers=HISTORY_RESTORE)
    html = restored.get_data(as_text=True)
    assert restored.status_code == 200
    assert html.lstrip().startswith("<!doctype html>") and "</html>" in html
    assert "Windham: 3.4" in html and 'hx-push-url="true"' in html  # the filters too
    assert {"HX-Request", "HX-History-Restore-Request"} <= set(restored.vary)


def test_the_step_page_restored_from_history_is_the_whole_page(as_user, staff_user, toolkit):
    url = f"/toolkits/{toolkit.id}/steps/context"
    client = as_user(staff_user)
    for headers in (HX, HISTORY_RESTORE):
        response = client.get(url, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert html.lstrip().startswith("<!doctype html>") and "</html>" in html
        assert 'id="step-form"' in html and 'class="step-nav"' in html


def test_the_action_search_restored_from_history_is_the_whole_page(
    as_user, staff_user, cycle, catalog
):
    url = "/towns/windham/toolkits/new?q=3.4"
    client = as_user(staff_user)
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert "3.4 Develop an Open Space Plan" in fragment and "<html" not in fragment
    restored = client.get(url, headers=HISTORY_RESTORE).get_data(as_text=True)
    assert restored.lstrip().startswith("<!doctype html>")
    assert "3.4 Develop an Open Space Plan" in restored and 'id="action-search"' in restored
