"""Certificate pages: a town's certificates, downloading, the release, revoking, verification.

Who may do what (the services refuse everyone else too):

* the town's certificates page and downloads (in any language the app speaks): everyone who
  may see the town (its staff, its coaches, reviewers, administrators);
* issuing by hand, releasing a cycle's held certificates and revoking: administrators only.
  Everyone else's certificates come from reviewers' decisions (review.services.decide);
* verifying (/verify, /verify/<serial>, /verify?sha256=): anyone, without signing in. The
  public page shows what a certificate says, its status and each language's SHA-256, never the
  revocation reason or who issued it.
"""

from __future__ import annotations

import io
import re
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from sct_forms.access import may_see_municipality, municipality_or_404, roles_required
from sct_forms.certificates.document import verification_url
from sct_forms.certificates.forms import IssueForm, ReleaseForm, RevokeForm
from sct_forms.certificates.queries import (
    by_serial,
    certificates_of,
    documents_by_sha256,
    last_revoked,
    valid_certificate,
)
from sct_forms.certificates.services import (
    CertificateRefusedError,
    ReleaseRefusedError,
    RevokeRefusedError,
    document_in,
    issue_certificate,
    local_date,
    may_issue_by_hand,
    may_issue_more,
    may_release,
    may_revoke,
    pending_certificates,
    release_certificates,
    revoke,
)
from sct_forms.certificates.storage import read_stored_pdf
from sct_forms.cycles import current_cycle
from sct_forms.domain.certificates import EXPIRED, normalise_serial, release_refusal
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.domain.tiers import next_tier
from sct_forms.extensions import db
from sct_forms.i18n import get_locale_language, ngettext
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.models import Cycle, Municipality, User, utcnow
from sct_forms.models.certificates import Certificate
from sct_forms.templating import render
from sct_forms.towns.queries import tiers_for

bp = Blueprint("certificates", __name__)

VIEW_ROLES = ALL_ROLES

# A SHA-256 as people paste it: 64 hex digits, perhaps in groups, in either case.
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _cycle_or_404(cycle_id: int | None) -> Cycle:
    """The cycle asked for, else the current one; 404 if there is none."""
    cycle = db.session.get(Cycle, cycle_id) if cycle_id else current_cycle(date.today())
    if cycle is None:
        abort(404)
    return cycle


def _town_page(
    town: Municipality,
    cycle: Cycle,
    *,
    error: str | None = None,
    failed: RevokeForm | None = None,
    status: int = 200,
):
    """The town's certificates page; ``failed`` is a revocation to show again with its errors."""
    certificates = certificates_of(town)
    assessment = tiers_for(town, cycle)
    current = valid_certificate(town, cycle)
    admin = may_issue_by_hand(current_user)
    revoke_forms = {}
    if may_revoke(current_user):
        # Each box empty but the one that failed: the others were not what was sent.
        revoke_forms = {c.serial: RevokeForm(c.serial, formdata=None) for c in certificates}
        if failed is not None:
            revoke_forms[failed.serial] = failed
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc())).all()
    issuable = may_issue_more(assessment, current)
    return render(
        "certificates/town.html",
        town=town,
        cycle=cycle,
        cycles=cycles,
        certificates=certificates,
        tiers=assessment,
        next_status=next_tier(assessment),
        current=current,
        # Why a tier that passes has no certificate yet: held for the release, revoked, or
        # (rarely) its rendering failed and the release action will catch up.
        held=issuable and cycle.holds_certificates,
        revoked=last_revoked(town, cycle) if issuable else None,
        issuable=issuable,
        # The hand issue is the administrators' (after a revocation or a failed rendering);
        # while the cycle holds, the release action issues instead.
        may_issue=admin and issuable and not cycle.holds_certificates,
        may_release=may_release(current_user),
        issue_form=IssueForm(formdata=None, cycle=cycle.id),
        may_revoke=may_revoke(current_user),
        revoke_forms=revoke_forms,
        speaking_to_town=current_user.role == Role.STAFF,
        today=date.today(),
        error=error,
        failed=failed,
    ), status


@bp.get("/towns/<slug>/certificate")
@roles_required(*VIEW_ROLES)
def town_certificates(slug: str):
    town = municipality_or_404(slug)
    return _town_page(town, _cycle_or_404(request.args.get("cycle", type=bounded_int)))


@bp.post("/towns/<slug>/certificate")
@roles_required(Role.ADMIN)
def issue(slug: str):
    """An administrator's hand issue (after a revocation, or what a failed rendering missed)."""
    town = municipality_or_404(slug)
    form = IssueForm()
    if not form.validate():
        return _town_page(town, _cycle_or_404(None), error=form.first_error(), status=422)
    cycle = _cycle_or_404(form.cycle.data)
    try:
        certificate = issue_certificate(town, cycle, current_user)
    except CertificateRefusedError as refused:
        return render(
            "certificates/refused.html",
            town=town,
            cycle=cycle,
            refused=refused,
            speaking_to_town=False,
        ), refused.status
    flash(
        _(
            "Certificate %(serial)s is issued. Download it or open its public check page "
            "in the list below.",
            serial=certificate.serial,
        ),
        "info",
    )
    # The top of the page, where the message is; the list is just below it.
    return redirect(url_for("certificates.town_certificates", slug=town.slug, cycle=cycle.id), 303)


def _visible_certificate_or_404(serial: str) -> Certificate:
    certificate = by_serial(serial)
    if certificate is None or not may_see_municipality(current_user, certificate.municipality_id):
        abort(404)
    return certificate


def _download_language() -> str:
    """?lang= if the app speaks it (404 otherwise), else the page's language."""
    asked = request.args.get("lang")
    if asked is None:
        return get_locale_language()
    if asked not in current_app.config["LANGUAGES"]:
        abort(404)
    return asked


@bp.get("/certificates/<serial>.pdf")
@roles_required(*VIEW_ROLES)
def download(serial: str):
    certificate = _visible_certificate_or_404(serial)
    language = _download_language()
    try:
        # Rendered and stored the first time a language is asked for, then always served
        # from the stored bytes.
        stored = document_in(certificate, language, current_user)
        data = read_stored_pdf(stored)
    except (OSError, ValueError, RuntimeError):
        # Never hand out a file that is not the one whose hash the public page shows.
        current_app.logger.exception(
            "Stored %s file of certificate %s is unusable", language, serial
        )
        abort(500)
    suffix = "" if language == "en" else f"-{language}"
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"sustainable-ct-certificate-{certificate.serial}{suffix}.pdf",
        etag=stored.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Language"] = language
    return response


@bp.post("/certificates/<serial>/revoke")
@roles_required(Role.ADMIN)
def revoke_certificate(serial: str):
    certificate = _visible_certificate_or_404(serial)
    town, cycle = certificate.municipality, certificate.cycle
    form = RevokeForm(certificate.serial)
    if not form.validate():
        return _town_page(town, cycle, failed=form, status=422)
    try:
        revoke(certificate, current_user, form.reason.data)
    except RevokeRefusedError as refused:
        if refused.code == "already_revoked":
            message = _("This certificate was already revoked.")
            return _town_page(town, cycle, error=message, status=409)
        form.reason.errors.append(form.reason_missing())
        return _town_page(town, cycle, failed=form, status=422)
    flash(_("Certificate %(serial)s is revoked.", serial=certificate.serial), "info")
    return redirect(url_for("certificates.town_certificates", slug=town.slug, cycle=cycle.id), 303)


# --- Releasing a cycle's certificates (administrators) ---------------------------------------


def _release_page(cycle: Cycle, *, error: str | None = None, status: int = 200):
    today = local_date(utcnow())
    released_by = (
        db.session.get(User, cycle.certificates_released_by_id)
        if cycle.certificates_released_by_id
        else None
    )
    return render(
        "certificates/release.html",
        cycle=cycle,
        pending=pending_certificates(cycle),
        too_early=release_refusal(cycle.release_on, today) is not None,
        released_by=released_by,
        form=ReleaseForm(formdata=None),
        today=today,
        error=error,
    ), status


@bp.get("/admin/cycles/<int:cycle_id>/certificates")
@roles_required(Role.ADMIN)
def release_page(cycle_id: int):
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    return _release_page(cycle)


@bp.post("/admin/cycles/<int:cycle_id>/certificates")
@roles_required(Role.ADMIN)
def release(cycle_id: int):
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    form = ReleaseForm()
    if not form.validate():
        return _release_page(cycle, error=form.first_error(), status=422)
    try:
        result = release_certificates(cycle, current_user)
    except ReleaseRefusedError as refused:
        message = _(
            "Certificates of this cycle are released on %(date)s, not before. "
            "Come back on that day.",
            date=_format_date(refused.release_on),
        )
        return _release_page(cycle, error=message, status=409)
    issued = len(result.issued)
    messages = [
        ngettext("%(num)s certificate is issued.", "%(num)s certificates are issued.", issued)
    ]
    if result.released:
        messages.insert(0, _("The certificates of %(cycle)s are released.", cycle=cycle.name))
    if result.failed:
        messages.append(
            _(
                "These certificates could not be made and are still missing: %(towns)s. "
                "Press the button again later; the error is in the server's log.",
                towns=", ".join(result.failed),
            )
        )
    if result.skipped_revoked:
        messages.append(
            _(
                "Not issued, because a certificate of this cycle was revoked: %(towns)s. "
                "Issue them by hand on the town's certificates page if they should have one.",
                towns=", ".join(result.skipped_revoked),
            )
        )
    flash(" ".join(messages), "info")
    return redirect(url_for("certificates.release_page", cycle_id=cycle.id), 303)


def _format_date(value: date | None) -> str:
    return current_app.jinja_env.filters["date"](value) if value else ""


# --- Public verification ---------------------------------------------------------------------


def _public(response_body: str, status: int) -> Response:
    response = current_app.make_response((response_body, status))
    # A check page is for people holding a certificate, not for search engines.
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def normalise_sha256(typed: str) -> str | None:
    """A typed SHA-256 as stored (lowercase hex), forgiving spaces and case; None if not one."""
    digest = "".join(typed.split()).lower()
    return digest if _SHA256.match(digest) else None


@bp.get("/verify")
def verify_lookup():
    """The forms to type a serial or a file's SHA-256; with one of them, that certificate."""
    if request.args.get("sha256") is not None:
        return _lookup_by_sha256(request.args["sha256"])
    typed = request.args.get("serial")
    if typed is None:
        return _public(render("certificates/verify.html", certificate=None, typed=""), 200)
    serial = normalise_serial(typed)
    if not typed.strip():
        error = _("Type the certificate number printed on the certificate.")
        body = render("certificates/verify.html", certificate=None, typed="", error=error)
        return _public(body, 422)
    if serial is None:
        return _unknown(typed)
    return redirect(url_for("certificates.verify", serial=serial), 303)


def _lookup_by_sha256(typed: str) -> Response:
    digest = normalise_sha256(typed)
    if digest is None:
        error = _("Type or paste the 64 letters and digits of the file's SHA-256 fingerprint.")
        body = render(
            "certificates/verify.html",
            certificate=None,
            typed="",
            typed_sha256=typed,
            sha256_error=error,
        )
        return _public(body, 422)
    found = documents_by_sha256(digest)
    if not found:
        body = render(
            "certificates/verify.html",
            certificate=None,
            typed="",
            typed_sha256=typed,
            unknown_sha256=True,
        )
        return _public(body, 404)
    serial = found[0].certificate.serial
    return redirect(url_for("certificates.verify", serial=serial, sha256=digest), 303)


def _unknown(typed: str) -> Response:
    body = render("certificates/verify.html", certificate=None, typed=typed, unknown=True)
    return _public(body, 404)


@bp.get("/verify/<serial>")
def verify(serial: str):
    """What a certificate says, whether it still holds, and each language's file fingerprint.

    With ?sha256= (from the fingerprint lookup) the page also says which of its files has
    that fingerprint, checked here again rather than trusted from the link.
    """
    canonical = normalise_serial(serial)
    if canonical is None:
        return _unknown(serial)
    if canonical != serial:
        return redirect(url_for("certificates.verify", serial=canonical), 301)
    certificate = by_serial(canonical)
    if certificate is None:
        return _unknown(serial)
    public_status = certificate.public_status(date.today())
    asked = normalise_sha256(request.args.get("sha256", ""))
    matched = next((d for d in certificate.documents if d.sha256 == asked), None)
    body = render(
        "certificates/verify.html",
        certificate=certificate,
        typed=certificate.serial,
        public_status=public_status,
        expired=public_status == EXPIRED,
        url=verification_url(certificate.serial),
        asked_sha256=asked,
        matched=matched,
    )
    return _public(body, 200)
