"""Packet routes: downloads with ETags from the cache, previews, progress, and who may see what."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import pytest
from pypdf import PdfReader, PdfWriter

from sct_forms import jobs
from sct_forms.documents import packet_cache, packet_pdf, packets
from sct_forms.extensions import db
from sct_forms.files import host_name
from sct_forms.models import CoachAssignment
from sct_forms.review import services as review
from tests import queue_helpers
from tests.conftest import make_user
from tests.documents.test_packets import STEP_TITLES, complete_toolkit, outline_titles, upload
from tests.evidence.samples import text_bytes
from tests.storage_helpers import every_file, stored_names
from tests.toolkit_helpers import COMPLETE_ANSWERS, form_fields, step_version


@pytest.fixture
def toolkit(town, cycle, catalog, staff_user):
    return complete_toolkit(town, cycle, catalog["3.4"], staff_user)


class Builds(list):
    """The keys of the packets the routes built (rendered and merged), in order."""

    #: Whether builds render the real packet (about a second each) or make a stand-in.
    real = False


def stand_in_pdf(packet) -> bytes:  # noqa: ANN001
    """A one-page PDF titled with the packet's key: another packet, other bytes."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": packet.key})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def builds(monkeypatch) -> Builds:
    """Counts the packet builds the routes make.

    Most tests here are about caching, ETags, queueing and who may see what, not about what the
    PDF shows (tests/documents/test_packets.py checks that): their builds make a stand-in PDF,
    as tests/test_fuzz_routes.py does. A test that reads the PDF back sets ``builds.real``.
    """
    calls = Builds()

    def counting(packet):  # noqa: ANN001, ANN202
        calls.append(packet.key)
        return packet_pdf.build_pdf(packet) if calls.real else stand_in_pdf(packet)

    monkeypatch.setattr(packet_cache, "build_pdf", counting)
    return calls


def fetch(client, url: str, **kwargs):  # noqa: ANN001, ANN201
    """GET, read the body and close the response (send_file's open file is closed too)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def pdf_url(toolkit) -> str:  # noqa: ANN001
    return f"/toolkits/{toolkit.id}/packet.pdf"


def save_context_step(client, toolkit, goals: str):  # noqa: ANN001, ANN201
    answers = {**COMPLETE_ANSWERS["context"], "goals": goals}
    data = form_fields("context", answers) | {
        "base_version": step_version(toolkit, "context"),
        "intent": "save",
    }
    response = client.post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


# --- Downloads ------------------------------------------------------------------------------


def test_download_is_a_pdf_attachment_with_etag_and_private_caching(as_user, staff_user, toolkit):
    # What the downloaded PDF shows is read back in test_saving_a_step_changes_the_etag.
    response = fetch(as_user(staff_user), pdf_url(toolkit))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "windham-3.4-equity-toolkit.pdf" in disposition
    assert "private" in response.headers["Cache-Control"]
    etag, weak = response.get_etag()
    assert etag == packets.toolkit_packet(toolkit, "en").key and not weak


def test_second_request_is_served_from_the_cache(as_user, staff_user, toolkit, builds):
    client = as_user(staff_user)

    first = fetch(client, pdf_url(toolkit))
    second = fetch(client, pdf_url(toolkit))

    assert first.status_code == second.status_code == 200
    assert len(builds) == 1
    assert second.data == first.data
    assert second.get_etag() == first.get_etag()


def test_if_none_match_gets_304_without_building(as_user, staff_user, toolkit, builds):
    client = as_user(staff_user)
    etag = fetch(client, pdf_url(toolkit)).get_etag()[0]

    response = fetch(client, pdf_url(toolkit), headers={"If-None-Match": f'"{etag}"'})

    assert response.status_code == 304
    assert response.data == b""
    assert response.get_etag()[0] == etag
    assert len(builds) == 1


def test_saving_a_step_changes_the_etag(as_user, staff_user, toolkit, builds):
    client = as_user(staff_user)
    before = fetch(client, pdf_url(toolkit)).get_etag()[0]

    save_context_step(client, toolkit, "Parks within a ten-minute walk of every home.")
    builds.real = True  # the new build is read back
    response = fetch(client, pdf_url(toolkit), headers={"If-None-Match": f'"{before}"'})

    assert response.status_code == 200
    assert response.get_etag()[0] != before
    assert len(builds) == 2
    reader = PdfReader(io.BytesIO(response.data))
    assert outline_titles(reader) == [*STEP_TITLES, "Attached: Bilingual flyer"]
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Parks within a ten-minute walk of every home." in " ".join(text.split())


def test_new_evidence_changes_the_etag(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    before = fetch(client, pdf_url(toolkit)).get_etag()[0]
    upload(toolkit, "outcomes", text_bytes(), "notes.txt", "Meeting notes", staff_user)

    assert fetch(client, pdf_url(toolkit)).get_etag()[0] != before


def test_town_packet_download(as_user, staff_user, toolkit, town, cycle):
    # What the town's PDF shows is read back in the next test.
    response = fetch(as_user(staff_user), f"/towns/{town.slug}/packet.pdf?cycle={cycle.id}")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "windham-2026-fall-equity-toolkits.pdf" in response.headers["Content-Disposition"]
    assert response.get_etag()[0]


def test_town_packet_history_is_for_the_town_and_reviewers(
    as_user, staff_user, reviewer_user, coach_user, toolkit, town, cycle, client, builds
):
    builds.real = True
    review.submit(toolkit, staff_user, "draft")
    url = f"/towns/{town.slug}/packet.pdf?cycle={cycle.id}&history=1"

    town_response = fetch(as_user(staff_user), url)
    client.post("/sign-out")
    reviewer_response = fetch(as_user(reviewer_user), url)
    client.post("/sign-out")
    coach_response = fetch(as_user(coach_user), url)

    assert town_response.status_code == reviewer_response.status_code == 200
    assert "with-history" in town_response.headers["Content-Disposition"]
    for response in (town_response, reviewer_response):
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
        assert "3.4 Develop an Open Space Plan" in text
        assert "Where your town stands" in text
        assert "Review history" in text
        assert "submitted revision 1." in " ".join(text.split())
    # The town's view and the reviewers' view are different documents.
    assert town_response.get_etag() != reviewer_response.get_etag()
    assert coach_response.status_code == 403


# --- Who may see a packet -------------------------------------------------------------------


def packet_urls(toolkit, town) -> list[str]:  # noqa: ANN001
    photo = next(e for e in toolkit.evidence if e.kind == "image")
    return [
        f"/toolkits/{toolkit.id}/packet.pdf",
        f"/toolkits/{toolkit.id}/packet/preview",
        f"/toolkits/{toolkit.id}/packet",
        f"/toolkits/{toolkit.id}/packet/status",
        f"/toolkits/{toolkit.id}/packet/images/{photo.print_storage_name}",
        f"/towns/{town.slug}/packet.pdf",
        f"/towns/{town.slug}/packet/preview",
        f"/towns/{town.slug}/packet",
        f"/towns/{town.slug}/packet/status",
    ]


def test_another_towns_staff_get_404_everywhere(
    as_user, other_staff_user, toolkit, town, cycle, builds
):
    client = as_user(other_staff_user)

    for url in packet_urls(toolkit, town):
        assert fetch(client, url).status_code == 404, url
    assert builds == []


def test_anonymous_visitors_are_sent_to_sign_in(client, toolkit, town):
    for url in packet_urls(toolkit, town):
        response = fetch(client, url)
        assert response.status_code in (302, 303), url
        assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("role", ["reviewer_user", "coach_user", "admin_user"])
def test_reviewers_coaches_and_admins_may_download(request, as_user, toolkit, role):
    user = request.getfixturevalue(role)

    response = fetch(as_user(user), pdf_url(toolkit))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"


def test_a_coach_of_other_towns_gets_404(as_user, password_hash, other_town, toolkit, town):
    coach = make_user("coach", "cory.coach@sct.test", password_hash)
    db.session.add(CoachAssignment(coach_id=coach.id, municipality_id=other_town.id))
    db.session.commit()
    client = as_user(coach)

    assert fetch(client, pdf_url(toolkit)).status_code == 404
    assert fetch(client, f"/towns/{town.slug}/packet.pdf").status_code == 404


def test_unknown_toolkit_town_and_cycle_are_404(as_user, admin_user, town):
    client = as_user(admin_user)

    assert fetch(client, "/toolkits/9999/packet.pdf").status_code == 404
    assert fetch(client, "/towns/nowhere/packet.pdf").status_code == 404
    assert fetch(client, f"/towns/{town.slug}/packet.pdf?cycle=9999").status_code == 404


# --- Print preview --------------------------------------------------------------------------


def test_preview_is_the_packet_html_with_print_css_and_loadable_images(
    as_user, staff_user, toolkit
):
    client = as_user(staff_user)

    response = fetch(client, f"/toolkits/{toolkit.id}/packet/preview")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/static/css/print.css" in html
    assert "evidence:" not in html
    for title in STEP_TITLES:
        assert title in html
    photo = next(e for e in toolkit.evidence if e.kind == "image")
    image_url = f"/toolkits/{toolkit.id}/packet/images/{photo.print_storage_name}"
    assert f'src="{image_url}"' in html
    image = fetch(client, image_url)
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert image.data.startswith(b"\xff\xd8")


def test_preview_images_are_only_this_toolkits_images(
    as_user, staff_user, toolkit, town, cycle, catalog
):
    other = complete_toolkit(town, cycle, catalog["5.4"], staff_user)
    photo = next(e for e in other.evidence if e.kind == "image")
    flyer = next(e for e in toolkit.evidence if e.display_name == "flyer.pdf")
    client = as_user(staff_user)

    base = f"/toolkits/{toolkit.id}/packet/images"
    assert fetch(client, f"{base}/{photo.print_storage_name}").status_code == 404
    assert fetch(client, f"{base}/{flyer.storage_name}").status_code == 404
    assert fetch(client, f"{base}/..%2f..%2fconfig.py").status_code == 404


def test_town_preview(as_user, reviewer_user, toolkit, town, cycle):
    response = fetch(as_user(reviewer_user), f"/towns/{town.slug}/packet/preview?cycle={cycle.id}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No level reached yet for the equity requirement." in html
    assert "3.4 Develop an Open Space Plan" in html


# --- Progress page and builds on the job queue ---------------------------------------------


@pytest.fixture
def held_builds(monkeypatch):
    """Builds that wait for ``release`` before they make their (stand-in) PDF."""
    release = threading.Event()
    calls: list[str] = []

    def held(packet):  # noqa: ANN001, ANN202
        calls.append(packet.key)
        assert release.wait(60)
        return stand_in_pdf(packet)

    monkeypatch.setattr(packet_cache, "build_pdf", held)
    yield release, calls
    release.set()


def test_progress_page_queues_the_build_and_offers_the_download(
    as_user, staff_user, toolkit, builds, held_queue
):
    client = as_user(staff_user)
    status_url = f"/toolkits/{toolkit.id}/packet/status"

    page = fetch(client, f"/toolkits/{toolkit.id}/packet").get_data(as_text=True)

    assert "Preparing your PDF…" in page
    assert 'role="status"' in page
    assert f'hx-get="{status_url}"' in page
    assert 'hx-trigger="every 2s"' in page
    assert "Check again" in page
    # Polling while it waits: nothing to swap, and the same key is not queued twice.
    assert fetch(client, status_url, headers={"HX-Request": "true"}).status_code == 204
    assert "Preparing your PDF…" in fetch(client, f"/toolkits/{toolkit.id}/packet").get_data(
        as_text=True
    )
    assert queue_helpers.pending() == ["build_packet"]
    assert builds == []
    assert queue_helpers.run_queued() == 1  # the worker's turn

    ready = fetch(client, status_url, headers={"HX-Request": "true"})
    assert ready.status_code == 200
    fragment = ready.get_data(as_text=True)
    assert "<html" not in fragment
    assert f'href="/toolkits/{toolkit.id}/packet.pdf"' in fragment
    assert "hx-get" not in fragment  # polling stops
    assert len(builds) == 1
    # The download is now served from the cache.
    download = fetch(client, f"/toolkits/{toolkit.id}/packet.pdf")
    assert download.status_code == 200
    assert len(builds) == 1


def test_progress_page_when_the_pdf_is_cached_offers_the_link_at_once(
    as_user, staff_user, toolkit, builds
):
    client = as_user(staff_user)
    fetch(client, pdf_url(toolkit))

    page = fetch(client, f"/toolkits/{toolkit.id}/packet").get_data(as_text=True)

    assert "Your PDF is ready." in page
    assert f'href="/toolkits/{toolkit.id}/packet.pdf"' in page
    assert len(builds) == 1


def test_a_failed_build_says_so_and_can_be_retried(as_user, staff_user, toolkit, monkeypatch):
    def broken(packet):  # noqa: ANN001, ANN202
        raise RuntimeError("renderer fell over")

    working = packet_cache.build_pdf
    monkeypatch.setattr(packet_cache, "build_pdf", broken)
    client = as_user(staff_user)
    fetch(client, f"/toolkits/{toolkit.id}/packet")

    failed = fetch(
        client, f"/toolkits/{toolkit.id}/packet/status", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "We could not make the PDF." in failed
    assert f"/toolkits/{toolkit.id}/packet?retry=1" in failed

    monkeypatch.setattr(packet_cache, "build_pdf", working)
    fetch(client, f"/toolkits/{toolkit.id}/packet?retry=1")
    page = fetch(client, f"/toolkits/{toolkit.id}/packet").get_data(as_text=True)
    assert "Your PDF is ready." in page


def test_direct_download_waits_for_a_running_build(
    as_user, staff_user, toolkit, held_builds, held_queue, app
):
    release, calls = held_builds
    client = as_user(staff_user)
    fetch(client, f"/toolkits/{toolkit.id}/packet")
    worker = threading.Thread(target=queue_helpers.run_queued)  # a worker takes the build
    worker.start()
    deadline = time.monotonic() + 30
    while not calls and time.monotonic() < deadline:
        time.sleep(0.05)
    results = {}

    def download():  # noqa: ANN202
        results["response"] = fetch(client, pdf_url(toolkit))

    waiting = threading.Thread(target=download)
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive()  # waiting on the worker's build, not building again
    release.set()
    waiting.join(60)
    worker.join(60)

    assert results["response"].status_code == 200
    assert len(calls) == 1


def test_direct_download_does_not_wait_for_a_build_that_is_only_queued(
    as_user, staff_user, toolkit, builds, held_queue
):
    client = as_user(staff_user)
    fetch(client, f"/toolkits/{toolkit.id}/packet")

    assert fetch(client, pdf_url(toolkit)).status_code == 200  # no worker has come yet
    assert len(builds) == 1
    queue_helpers.run_queued()  # the worker finds the packet cached
    assert len(builds) == 1


def test_the_cache_keeps_few_versions(as_user, staff_user, toolkit, app):
    client = as_user(staff_user)
    for number in range(packet_cache.KEEP_PER_PACKET + 2):
        save_context_step(client, toolkit, f"Goal number {number}.")
        assert fetch(client, pdf_url(toolkit)).status_code == 200

    stored = stored_names(packet_cache.AREA)
    assert len(stored) == packet_cache.KEEP_PER_PACKET
    assert all(name.startswith(f"toolkit-{toolkit.id}-") for name in stored)
    assert every_file(packet_cache.AREA) == stored  # nothing half-written


def assert_the_progress_page_builds_it_again(client, toolkit, packet, builds) -> None:  # noqa: ANN001
    """The marks no longer hold: the progress page queues a build, which is then ready."""
    assert packet_cache.build_state(packet) == "missing"
    fetch(client, f"/toolkits/{toolkit.id}/packet")
    assert "Your PDF is ready." in fetch(client, f"/toolkits/{toolkit.id}/packet").get_data(
        as_text=True
    )
    assert len(builds) == 1


def test_marks_left_by_a_worker_that_died_do_not_block_the_packet(
    as_user, staff_user, toolkit, builds
):
    packet = packets.toolkit_packet(toolkit, "en")
    # A worker killed mid-build leaves both marks behind; after the build timeout they are stale.
    stale = time.time() - packet_cache.BUILD_TIMEOUT_SECONDS - 1
    for mark in (f"packet-queued.{packet.key}", f"packet-building.{packet.key}"):
        jobs.queue.put(mark, stale)

    assert_the_progress_page_builds_it_again(as_user(staff_user), toolkit, packet, builds)
    assert jobs.queue.get(f"packet-building.{packet.key}", peek=True) is None


def test_a_build_whose_worker_was_killed_on_this_host_is_queued_again_at_once(
    as_user, staff_user, toolkit, builds
):
    packet = packets.toolkit_packet(toolkit, "en")
    # A worker on this host took the build and was killed (SIGKILL) a moment ago.
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker.kill()
    worker.wait()
    taken = {"since": time.time(), "host": host_name(), "pid": worker.pid}
    jobs.queue.put(f"packet-queued.{packet.key}", dict(taken, pid=os.getpid()))
    jobs.queue.put(f"packet-building.{packet.key}", taken)

    assert_the_progress_page_builds_it_again(as_user(staff_user), toolkit, packet, builds)


def test_a_build_running_in_a_live_process_or_on_another_host_is_waited_for(toolkit, builds):
    packet = packets.toolkit_packet(toolkit, "en")
    here, now = host_name(), time.time()
    for holder in ({"host": here, "pid": os.getpid()}, {"host": f"{here}-other", "pid": 1}):
        jobs.queue.put(f"packet-building.{packet.key}", dict(holder, since=now))
        assert packet_cache.build_state(packet) == "building"
        request = packet_cache.PacketRequest("toolkit", toolkit.id, "en")
        assert not packet_cache.queue_build(packet, request)
    assert builds == []


def test_a_live_mark_keeps_a_second_build_from_starting(as_user, staff_user, toolkit, builds):
    packet = packets.toolkit_packet(toolkit, "en")
    jobs.queue.put(f"packet-queued.{packet.key}", time.time())  # another server queued it

    assert packet_cache.build_state(packet) == "building"
    request = packet_cache.PacketRequest("toolkit", toolkit.id, "en")
    assert not packet_cache.queue_build(packet, request)
    assert builds == []


def test_town_progress_page_builds_the_town_packet(as_user, staff_user, toolkit, town, cycle):
    client = as_user(staff_user)
    url = f"/towns/{town.slug}/packet?cycle={cycle.id}&history=1"

    first = fetch(client, url).get_data(as_text=True)
    ready = fetch(client, url).get_data(as_text=True)

    assert "Preparing your PDF…" in first or "Your PDF is ready." in first
    assert "Your PDF is ready." in ready
    assert f"/towns/{town.slug}/packet.pdf?cycle={cycle.id}&amp;history=1" in ready
