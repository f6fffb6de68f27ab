"""A town's journey across two app servers on real engines, and one server killed mid-journey.

PostgreSQL, Redis (the job queue), SeaweedFS (S3 storage), two gunicorn servers A and B, and one
queue worker; every process has its own instance folder, so nothing the journey needs can live
in a local folder. The person's requests alternate between the servers as a load balancer
would send them (one browser, one cookie jar):

1. Staff start a toolkit and save its first step on A, and carry on with the other steps on B.
2. They upload evidence on A (a PDF and a photo, which gets a print copy) and submit on B,
   where the files uploaded on A download unchanged.
3. A reviewer claims the toolkit and approves it on A; the approval issues the town's
   certificate.
4. The packet is queued through Redis (where it waits until the worker is started), built by
   the worker, and downloaded from B.
5. The certificate's PDFs are downloaded from B (English, stored by A at the approval; Spanish,
   rendered and stored by B now) and each verifies on A's public page by its SHA-256.
6. On a second toolkit, A answers a save and an upload; then, while a save and an upload are in
   flight on A, A is killed (SIGKILL). Through B the person finds what A answered, redoes what
   got no answer, and finishes: submit, review, packet, all on B.
7. At the end the database holds each save and each file once, the bucket holds every stored
   file (and nothing half-uploaded), and no process's instance folder holds any file.

The processes run with SCT_ENV=production, as deployed; their logs (JSON lines, an access line
per request) are printed when the test fails.

Needs PostgreSQL and Redis on this machine and starts its own processes: run it with
``SCT_TOPOLOGY_TEST=1`` (tests/topology/helpers.py says which engines it uses).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.parse

import pytest
from sqlalchemy import func, select

from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State
from sct_forms.models import AuditEvent, Evidence, StepAnswers, Toolkit
from sct_forms.models.certificates import Certificate
from tests.evidence import pdf_samples, samples
from tests.toolkit_helpers import COMPLETE_ANSWERS, form_fields
from tests.topology.helpers import (
    AppProcess,
    InFlight,
    Page,
    Person,
    Topology,
    multipart,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("SCT_TOPOLOGY_TEST") != "1",
    reason="needs PostgreSQL and Redis and starts its own servers: set SCT_TOPOLOGY_TEST=1",
)

TOWN = "windham"
STAFF_EMAIL = "staff@demo.sct-forms.test"
REVIEWER_EMAIL = "reviewer@demo.sct-forms.test"
STEPS = tuple(COMPLETE_ANSWERS)  # context, affected_and_missing, outreach, ... reflection
PACKET_SECONDS = 180  # a packet takes about 2 s to build, much longer on a busy machine
HTMX = {"HX-Request": "true"}


def photo() -> tuple[str, bytes, str]:
    return "sign-in-table.jpg", samples.jpeg_bytes((640, 480)), "image/jpeg"


def sign_in_sheet() -> tuple[str, bytes, str]:
    return "sign-in-sheet.pdf", pdf_samples.sign_in_sheet(), "application/pdf"


PHOTO_FIELDS = {
    "title": "Workshop sign-in table",
    "alt_text": "Residents signing in at a table",
    "people_consented": "y",
}
SHEET_FIELDS = {"title": "Outreach sign-in sheet"}


# --- what the person does ----------------------------------------------------------------------


def ok(page: Page, status: int = 200) -> Page:
    assert page.status == status, f"{page.url}: {page.status}, expected {status}\n{page.text}"
    return page


def step_path(toolkit_id: int, step: str) -> str:
    return f"/toolkits/{toolkit_id}/steps/{step}"


def start_toolkit(person: Person, server: AppProcess, number: str) -> int:
    """Start the town's toolkit paired with action ``number``; its id."""
    path = f"/towns/{TOWN}/toolkits/new"
    page = ok(person.get(server, f"{path}?q={number}"))
    action_id = re.search(
        rf'value="(\d+)"[^>]*>\s*<label for="action-\d+">{re.escape(number)} ', page.text
    ).group(1)
    started = ok(person.submit(server, page, path, {"action_id": action_id, "confirmed": "y"}), 303)
    return int(re.search(r"/toolkits/(\d+)/steps/", started.location).group(1))


def step_form(person: Person, server: AppProcess, toolkit_id: int, step: str, intent: str):  # noqa: ANN201
    """The step's page and the fields its form sends with the complete answers typed in."""
    page = ok(person.get(server, step_path(toolkit_id, step)))
    changes = {**form_fields(step, COMPLETE_ANSWERS[step]), "intent": intent}
    return page.form(step_path(toolkit_id, step)).values(changes)


def save_step(
    person: Person, server: AppProcess, toolkit_id: int, step: str, intent: str = "save"
) -> Page:
    fields = step_form(person, server, toolkit_id, step, intent)
    return ok(person.post(server, step_path(toolkit_id, step), fields), 303)


def upload(
    person: Person,
    server: AppProcess,
    toolkit_id: int,
    step: str,
    fields: dict[str, str],
    file: tuple[str, bytes, str],
) -> Page:
    page = ok(person.get(server, step_path(toolkit_id, step)))
    action = f"{step_path(toolkit_id, step)}/evidence"
    return ok(person.upload(server, page, action, fields, file), 303)


def submit(person: Person, server: AppProcess, toolkit_id: int) -> None:
    page = ok(person.get(server, f"/toolkits/{toolkit_id}"))
    ok(person.submit(server, page, f"/toolkits/{toolkit_id}/submit"), 303)


def claim_and_approve(reviewer: Person, server: AppProcess, toolkit_id: int) -> None:
    path = f"/review/toolkits/{toolkit_id}"
    ok(reviewer.submit(server, ok(reviewer.get(server, path)), f"{path}/claim"), 303)
    page = ok(reviewer.get(server, path))
    ok(reviewer.submit(server, page, f"{path}/decision", {"decision": "approve"}), 303)


def packet_built_by_the_worker(person: Person, server: AppProcess, toolkit_id: int) -> Page:
    """Open the packet page on ``server`` (which queues the build, unless it is queued) and poll
    its status there, as the page does, until the worker has built it; then download it from
    ``server``."""
    path = f"/toolkits/{toolkit_id}/packet"
    ok(person.get(server, path))
    deadline = time.monotonic() + PACKET_SECONDS
    while True:
        status = person.get(server, f"{path}/status", HTMX)
        if status.status == 200:
            assert "Download the PDF" in status.text, status.text
            break
        assert status.status == 204, status.text  # still building
        assert time.monotonic() < deadline, "the worker did not build the packet in time"
        time.sleep(0.5)
    packet = ok(person.get(server, f"{path}.pdf"))
    assert packet.headers["Content-Type"] == "application/pdf"
    assert packet.body.startswith(b"%PDF-")
    return packet


def evidence_links(page: Page) -> list[str]:
    return re.findall(r'href="(/evidence/\d+/download)"', page.text)


def verifies(visitor: Person, server: AppProcess, data: bytes, serial: str, language: str) -> None:
    """The public page of ``server`` finds the certificate by the file's SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    found = ok(visitor.get(server, f"/verify?sha256={digest}"), 303)
    assert found.location == f"/verify/{serial}?{urllib.parse.urlencode({'sha256': digest})}"
    page = ok(visitor.get(server, found.location))
    assert "This certificate is genuine and valid until" in page.text
    assert f"that of this certificate's PDF in {language}" in page.text, page.text


# --- the journey -------------------------------------------------------------------------------


def test_a_journey_alternates_between_two_servers_and_survives_losing_one(tmp_path):
    with Topology(tmp_path) as topology:
        a, b = topology.server_a, topology.server_b
        staff, reviewer, visitor = Person(), Person(), Person()
        staff.sign_in(a, STAFF_EMAIL, topology.password(Role.STAFF))

        # 1. A step saved on A; the next step opens on B, which shows what A saved.
        toolkit_id = start_toolkit(staff, a, "3.4")
        saved = save_step(staff, a, toolkit_id, STEPS[0], intent="continue")
        assert saved.location == step_path(toolkit_id, STEPS[1])
        ok(staff.get(b, saved.location))
        assert (
            COMPLETE_ANSWERS[STEPS[0]]["goals"]
            in ok(staff.get(b, step_path(toolkit_id, STEPS[0]))).text
        )
        for step in STEPS[1:]:
            save_step(staff, b, toolkit_id, step)

        # 2. Evidence uploaded on A; on B it is listed and downloads unchanged; submitted on B.
        upload(staff, a, toolkit_id, "outreach", SHEET_FIELDS, sign_in_sheet())
        upload(staff, a, toolkit_id, "engagement", PHOTO_FIELDS, photo())
        overview = ok(staff.get(b, f"/toolkits/{toolkit_id}"))
        links = evidence_links(overview)
        assert len(links) == 2, overview.text
        downloads = {ok(staff.get(b, link)).sha256() for link in links}
        submit(staff, b, toolkit_id)

        # 3. Claimed and approved on A, which issues the certificate.
        reviewer.sign_in(a, REVIEWER_EMAIL, topology.password(Role.REVIEWER))
        claim_and_approve(reviewer, a, toolkit_id)

        # 4. The packet: opening its page on B queues the build in Redis, where it waits until
        # the worker starts (nothing else builds it); then the worker builds it for B.
        assert topology.queued_tasks() == 0
        ok(staff.get(b, f"/toolkits/{toolkit_id}/packet"))
        assert topology.queued_tasks() == 1
        assert staff.get(b, f"/toolkits/{toolkit_id}/packet/status", HTMX).status == 204
        topology.start_worker()
        packets = {toolkit_id: packet_built_by_the_worker(staff, b, toolkit_id)}

        # 5. The certificate, downloaded from B, verifies on A by each file's SHA-256.
        certificates = ok(staff.get(b, f"/towns/{TOWN}/certificate"))
        serial = re.search(r'href="/certificates/([^".?]+)\.pdf"', certificates.text).group(1)
        english = ok(staff.get(b, f"/certificates/{serial}.pdf"))
        spanish = ok(staff.get(b, f"/certificates/{serial}.pdf?lang=es"))
        for document in (english, spanish):
            assert document.body.startswith(b"%PDF-")
        verifies(visitor, a, english.body, serial, "English")
        verifies(visitor, a, spanish.body, serial, "Español")

        # 6. A second toolkit: A answers a save and an upload...
        second_id = start_toolkit(staff, a, "3.12")
        save_step(staff, a, second_id, "context")
        upload(staff, a, second_id, "outreach", PHOTO_FIELDS, photo())
        # ... then a save and an upload are in flight on A when it is killed.
        fields = step_form(staff, a, second_id, "affected_and_missing", "save")
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        in_flight: list[InFlight] = [
            staff.start_posting(
                a,
                step_path(second_id, "affected_and_missing"),
                body,
                "application/x-www-form-urlencoded",
            )
        ]
        page = ok(staff.get(a, step_path(second_id, "engagement")))
        action = f"{step_path(second_id, 'engagement')}/evidence"
        token = dict(page.form(action).fields)["csrf_token"]
        body, content_type = multipart({"csrf_token": token, **SHEET_FIELDS}, *sign_in_sheet())
        in_flight.append(staff.start_posting(a, action, body, content_type))
        time.sleep(0.5)  # A's two workers take one each and wait for the rest of its body
        a.kill()
        assert [request.answer() for request in in_flight] == [None, None]
        with pytest.raises(OSError):
            staff.get(a, "/healthz")

        # Through B: what A answered is there, what got no answer is not.
        context_page = ok(staff.get(b, step_path(second_id, "context")))
        assert COMPLETE_ANSWERS["context"]["team"] in context_page.text
        overview = ok(staff.get(b, f"/toolkits/{second_id}"))
        [link] = evidence_links(overview)
        kept_photo = ok(staff.get(b, link))
        with topology.session() as session:
            versions = dict(
                session.execute(
                    select(StepAnswers.step_key, StepAnswers.version).where(
                        StepAnswers.toolkit_id == second_id
                    )
                ).all()
            )
            assert versions == {step: int(step == "context") for step in STEPS}
            [evidence] = session.scalars(select(Evidence).where(Evidence.toolkit_id == second_id))
            assert (evidence.step_key, evidence.sha256) == ("outreach", kept_photo.sha256())

        # The person redoes the two on B and finishes there: B does everything without A.
        for step in STEPS[1:]:
            save_step(staff, b, second_id, step)
        upload(staff, b, second_id, "engagement", SHEET_FIELDS, sign_in_sheet())
        submit(staff, b, second_id)
        claim_and_approve(reviewer, b, second_id)
        packets[second_id] = packet_built_by_the_worker(staff, b, second_id)
        verifies(visitor, b, english.body, serial, "English")

        # What the database holds at the end: each thing once, nothing lost.
        with topology.session() as session:
            states = dict(session.execute(select(Toolkit.id, Toolkit.state)).all())
            assert states == {toolkit_id: State.APPROVED, second_id: State.APPROVED}
            files = session.execute(
                select(Evidence.toolkit_id, Evidence.step_key, Evidence.sha256).order_by(
                    Evidence.id
                )
            ).all()
            assert [(t, s) for t, s, _ in files] == [
                (toolkit_id, "outreach"),
                (toolkit_id, "engagement"),
                (second_id, "outreach"),
                (second_id, "engagement"),
            ]
            assert {digest for t, _, digest in files if t == toolkit_id} == downloads
            saves = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "toolkit.step_saved",
                    AuditEvent.object_id == str(second_id),
                )
            )
            assert saves == len(STEPS)  # each step saved once: the unanswered save never landed
            [certificate] = session.scalars(select(Certificate))
            assert certificate.serial == serial
            documents = {d.language: d.storage_name for d in certificate.documents}
            assert set(documents) == {"en", "es"}
            evidence_names = {
                name
                for row in session.scalars(select(Evidence))
                for name in (row.storage_name, row.print_storage_name)
                if name
            }

        # Every file is in the bucket, once, and none in a server's own folder: the evidence
        # (the photos with their print copies) and nothing half-uploaded, the certificate's
        # two PDFs, and the packets the worker stored, which are the ones B handed out.
        stored = topology.stored_keys()
        assert {key for key in stored if key.startswith("evidence/")} == {
            f"evidence/{name}" for name in evidence_names
        }
        assert len(evidence_names) == 6  # two photos have a print copy each
        assert {f"certificates/{name}" for name in documents.values()} <= stored
        for toolkit, packet in packets.items():
            packet_key = packet.headers["ETag"].strip('"')
            assert topology.stored(f"packets/toolkit-{toolkit}-{packet_key}.pdf") == packet.body
        assert not [key for key in stored if key.startswith("pending/")]
        assert topology.local_files() == []
