"""The review queue a page at a time: fifty toolkits, oldest first, with links between pages that
keep the filters, and the same few statements whatever the size of the queue."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from sct_forms.domain.forms import Form
from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models import Action, Category, Cycle, Municipality, Toolkit, User, utcnow
from sct_forms.review.filters import whole_number
from sct_forms.review.queries import QUEUE_PAGE_SIZE
from tests.conftest import make_town, make_user
from tests.sql_helpers import counted_statements

HX = {"HX-Request": "true"}
# Beyond any page, beyond PostgreSQL's integer, beyond 64 bits, and what is not a page number.
BAD_PAGES = ("0", "-1", "abc", "1.5", "1e3", "٣", str(2**31), "99999999999999999999", "")


def add_actions(category: Category, count: int, start: int = 20) -> list[Action]:
    """More actions of the 2024 catalog in ``category``: 3.20, 3.21, ..."""
    actions = [
        Action(
            catalog_year=2024,
            number=f"{category.number}.{start + n}",
            title=f"Action {category.number}.{start + n}",
            category=category,
        )
        for n in range(count)
    ]
    db.session.add_all(actions)
    db.session.commit()
    return actions


def add_submitted(
    town: Municipality,
    cycle: Cycle,
    actions: list[Action],
    by: User,
    *,
    first_days_ago: int = 30,
    state: State = State.SUBMITTED,
    reviewer: User | None = None,
) -> list[Toolkit]:
    """One submitted toolkit of ``town`` per action, each an hour newer than the one before."""
    now = utcnow()
    toolkits = [
        Toolkit(
            municipality_id=town.id,
            cycle_id=cycle.id,
            form=Form.TOOLKIT,
            paired_action_id=action.id,
            definition_version="2024.1",
            state=state,
            confirmed_in_submission=True,
            created_by_id=by.id,
            updated_by_id=by.id,
            revision_count=1,
            submitted_at=now - timedelta(days=first_days_ago) + timedelta(hours=n),
            assigned_reviewer_id=reviewer.id if reviewer else None,
        )
        for n, action in enumerate(actions)
    ]
    db.session.add_all(toolkits)
    db.session.commit()
    return toolkits


def row_names(page: str) -> list[str]:
    """The toolkits of a queue page as its rows name them ("Windham: 3.20"), top to bottom."""
    return re.findall(r'<th scope="row"><a [^>]*>([^<:]+: [0-9.]+) ', page)


def pager_links(page: str) -> dict[str, dict[str, list[str]]]:
    """The pager's links by rel ("prev", "next"): their query strings, read."""
    nav = re.search(r'<nav class="pager" aria-label="Pages">(.*?)</nav>', page, re.S)
    if nav is None:
        return {}
    return {
        rel: parse_qs(urlsplit(html.unescape(href)).query)
        for href, rel in re.findall(r'<a href="([^"]+)" rel="(prev|next)">', nav.group(1))
    }


@pytest.fixture
def long_queue(town, cycle, catalog, staff_user) -> list[Toolkit]:
    """120 toolkits of Windham waiting for review: 2.5 pages, the oldest submitted 30 days ago."""
    category = db.session.query(Category).filter_by(number=3).one()
    return add_submitted(town, cycle, add_actions(category, 120), staff_user)


def test_the_queue_shows_fifty_toolkits_a_page_oldest_first(as_user, reviewer_user, long_queue):
    client = as_user(reviewer_user)
    names = [f"Windham: {t.paired_action.number}" for t in long_queue]

    first = client.get("/review/queue").get_data(as_text=True)
    assert "Showing 1–50 of 120 toolkits in the queue." in first
    assert row_names(first) == names[:50]
    assert '<span aria-current="page">Page 1 of 3</span>' in first
    assert pager_links(first) == {"next": {"page": ["2"]}}

    second = client.get("/review/queue?page=2").get_data(as_text=True)
    assert "Showing 51–100 of 120 toolkits in the queue." in second
    assert row_names(second) == names[50:100]
    assert '<span aria-current="page">Page 2 of 3</span>' in second
    assert pager_links(second) == {"prev": {"page": ["1"]}, "next": {"page": ["3"]}}

    last = client.get("/review/queue?page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120 toolkits in the queue." in last
    assert row_names(last) == names[100:]
    assert pager_links(last) == {"prev": {"page": ["2"]}}
    assert QUEUE_PAGE_SIZE == 50


def test_page_links_keep_the_filters(
    as_user, reviewer_user, long_queue, other_town, cycle, catalog, other_staff_user
):
    # Mansfield's toolkits are filtered out by town; newer ones by age; category 5 by category.
    add_submitted(other_town, cycle, [catalog["3.4"], catalog["5.4"]], other_staff_user)
    add_submitted(
        long_queue[0].municipality, cycle, [catalog["3.12"]], other_staff_user, first_days_ago=2
    )
    client = as_user(reviewer_user)
    town_id = str(long_queue[0].municipality_id)
    filters = {"town": [town_id], "status": ["submitted"], "category": ["3"], "age": ["7"]}
    query = f"town={town_id}&status=submitted&category=3&age=7"

    first = client.get(f"/review/queue?{query}").get_data(as_text=True)
    assert "Showing 1–50 of 120 toolkits in the queue." in first
    assert pager_links(first) == {"next": {**filters, "page": ["2"]}}
    second = client.get(f"/review/queue?{query}&page=2").get_data(as_text=True)
    assert pager_links(second) == {
        "prev": {**filters, "page": ["1"]},
        "next": {**filters, "page": ["3"]},
    }
    assert all(name.startswith("Windham: 3.") for name in row_names(second))

    # Filters that are not ones the page offers are left out of its links.
    odd = client.get("/review/queue?status=nonsense&town=abc&age=999999999").get_data(as_text=True)
    assert "Showing 1–50 of 123 toolkits in the queue." in odd
    assert pager_links(odd) == {"next": {"page": ["2"]}}


def test_htmx_gets_the_page_with_its_pager_as_a_fragment(as_user, reviewer_user, long_queue):
    client = as_user(reviewer_user)
    fragment = client.get("/review/queue?page=2&status=submitted", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and 'id="queue-results"' in text
    assert "Showing 51–100 of 120 toolkits in the queue." in text
    assert pager_links(text)["next"] == {"page": ["3"], "status": ["submitted"]}


def test_a_page_number_that_is_no_page_shows_the_first_or_the_last_page(
    as_user, reviewer_user, long_queue
):
    client = as_user(reviewer_user)
    for value in BAD_PAGES:
        response = client.get(f"/review/queue?page={value}")
        assert response.status_code == 200, value
        assert "Showing 1–50 of 120" in response.get_data(as_text=True), value
    for value in ("4", "1000", str(2**31 - 1)):
        response = client.get(f"/review/queue?page={value}&status=submitted")
        assert response.status_code == 200, value
        assert "Showing 101–120 of 120" in response.get_data(as_text=True), value


def test_one_page_needs_no_pager_and_an_empty_queue_says_so(
    as_user, reviewer_user, town, cycle, catalog, staff_user
):
    client = as_user(reviewer_user)
    for value in ("1", "2", "abc"):
        empty = client.get(f"/review/queue?page={value}").get_data(as_text=True)
        assert "0 toolkits in the queue." in empty and "Nothing is waiting for review" in empty
        assert 'class="pager"' not in empty
    add_submitted(town, cycle, [catalog["3.4"], catalog["5.4"]], staff_user)
    short = client.get("/review/queue?page=2").get_data(as_text=True)
    assert "2 toolkits in the queue." in short and 'class="pager"' not in short
    assert row_names(short) == ["Windham: 3.4", "Windham: 5.4"]


def test_the_queue_without_a_cycle_has_no_pages(as_user, reviewer_user):
    page = as_user(reviewer_user).get("/review/queue?page=3")
    assert page.status_code == 200
    assert "0 toolkits in the queue." in page.get_data(as_text=True)


def test_a_refused_assignment_shows_the_same_page_of_the_same_list(as_user, admin_user, long_queue):
    client = as_user(admin_user)
    page = client.get("/review/queue?page=2&status=submitted").get_data(as_text=True)
    toolkit = long_queue[60]
    action = re.search(
        rf'<form method="post" action="([^"]*/toolkits/{toolkit.id}/assign[^"]*)"', page
    )
    assert action is not None
    assign_url = html.unescape(action.group(1))
    assert parse_qs(urlsplit(assign_url).query) == {"page": ["2"], "status": ["submitted"]}
    refused = client.post(assign_url, data={"reviewer_id": "99999"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose an active reviewer." in text
    assert "Showing 51–100 of 120" in text and f"assign-{toolkit.id}" in text


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.STAFF, 403), (Role.COACH, 403), (Role.REVIEWER, 200), (Role.ADMIN, 200)],
)
def test_only_reviewers_and_administrators_open_any_page_of_the_queue(
    request, as_user, long_queue, role, status
):
    user = request.getfixturevalue(f"{role}_user")
    client = as_user(user)
    for url in ("/review/queue?page=2", "/review/queue?page=2&status=submitted"):
        response = client.get(url)
        assert response.status_code == status, url
        if status == 403:
            assert "Windham: 3." not in response.get_data(as_text=True)
        response = client.get(url, headers=HX)
        assert response.status_code == status, url


def test_anonymous_visitors_are_sent_to_sign_in_from_any_page(client, long_queue):
    response = client.get("/review/queue?page=2")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_whole_numbers_are_written_as_the_page_language_writes_them(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert whole_number(1000) == "1,000"


# --- statements ---------------------------------------------------------------------------------




def queue_statements(client, url: str, **kwargs) -> list[str]:  # noqa: ANN003
    with counted_statements() as statements:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return statements


def test_the_queue_issues_as_many_statements_for_sixty_toolkits_as_for_five(
    as_user, cycle, catalog, password_hash, admin_user, staff_user
):
    """Each toolkit of another town and action, every third held by a reviewer of its own (some
    no longer active), so that a statement per town, action or reviewer would show."""
    category = db.session.query(Category).filter_by(number=5).one()
    actions = add_actions(category, 60)

    def grow_to(count: int) -> None:
        for n in range(db.session.query(Toolkit).count(), count):
            town = make_town(f"Town {n:02d}", f"9{n:08d}")
            reviewer = None
            if n % 3 == 0:
                reviewer = make_user(
                    Role.REVIEWER, f"reviewer.{n}@sct.test", password_hash, active=n % 2 == 0
                )
            state = State.IN_REVIEW if reviewer else State.SUBMITTED
            add_submitted(town, cycle, [actions[n]], staff_user, state=state, reviewer=reviewer)

    grow_to(5)
    client = as_user(admin_user)
    queue_statements(client, "/review/queue")  # what is read once per app
    small = queue_statements(client, "/review/queue")
    grow_to(60)
    large = queue_statements(client, "/review/queue")
    second_page = queue_statements(client, "/review/queue?page=2&category=5")
    fragment = queue_statements(client, "/review/queue?page=2", headers=HX)

    assert len(small) == len(large) == len(second_page), "\n\n".join(large)
    assert len(fragment) <= len(large)
    assert len(large) <= 8, "\n\n".join(large)
