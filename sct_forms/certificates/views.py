"""Certificate pages: a town's certificates, issuing, downloading, revoking, public verification.

Who may do what:

* the town's certificates page and downloads: everyone who may see the town (its staff, its
  coaches, reviewers, administrators);
* issuing: the town's staff, reviewers and administrators (coaches advise, they do not act);
* revoking: administrators, with a reason;
* verifying (/verify, /verify/<serial>): anyone, without signing in. The public page shows
  what a certificate says and its status, never the revocation reason or who issued it.
"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from sct_forms.access import may_see_municipality, municipality_or_404, roles_required
from sct_forms.certificates.document import verification_url
from sct_forms.certificates.forms import IssueForm, RevokeForm
from sct_forms.certificates.queries import by_serial, certificates_of, valid_certificate
from sct_forms.certificates.services import (
    ISSUING_ROLES,
    CertificateRefusedError,
    RevokeRefusedError,
    issue_certificate,
    may_issue_more,
    revoke,
)
from sct_forms.certificates.storage import read_stored_pdf
from sct_forms.cycles import current_cycle
from sct_forms.domain.certificates import EXPIRED, normalise_serial
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.domain.tiers import next_tier
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.models import Cycle, Municipality
from sct_forms.models.certificates import Certificate
from sct_forms.templating import render
from sct_forms.towns.queries import tiers_for

bp = Blueprint("certificates", __name__)

VIEW_ROLES = ALL_ROLES


def _cycle_or_404(cycle_id: int | None) -> Cycle:
    """The cycle asked for, else the current one; 404 if there is none."""
    cycle = db.session.get(Cycle, cycle_id) if cycle_id else current_cycle(date.today())
    if cycle is None:
        abort(404)
    return cycle


def _may_issue(town: Municipality) -> bool:
    return current_user.role in ISSUING_ROLES and may_see_municipality(current_user, town.id)


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
    may_revoke = current_user.role == Role.ADMIN
    revoke_forms = {}
    if may_revoke:
        # Each box empty but the one that failed: the others were not what was sent.
        revoke_forms = {c.serial: RevokeForm(c.serial, formdata=None) for c in certificates}
        if failed is not None:
            revoke_forms[failed.serial] = failed
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc())).all()
    return render(
        "certificates/town.html",
        town=town,
        cycle=cycle,
        cycles=cycles,
        certificates=certificates,
        tiers=assessment,
        next_status=next_tier(assessment),
        current=current,
        may_issue=_may_issue(town),
        # The button is offered when pressing it would give something; anything else is
        # explained on the page instead.
        issuable=may_issue_more(assessment, current),
        issue_form=IssueForm(formdata=None, cycle=cycle.id),
        may_revoke=may_revoke,
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
@roles_required(*ISSUING_ROLES)
def issue(slug: str):
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
            speaking_to_town=current_user.role == Role.STAFF,
        ), refused.status
    # Back to the page, which now lists the certificate (the button it pressed is gone);
    # before, the answer was the PDF itself, so the page stayed as it was until reloaded.
    flash(
        _(
            "Certificate %(serial)s is issued. Download it or open its public check page "
            "in the list below.",
            serial=certificate.serial,
        ),
        "info",
    )
    # The top of the page, where the message is; the list is just below it.
    return redirect(
        url_for("certificates.town_certificates", slug=town.slug, cycle=cycle.id), 303
    )


def _visible_certificate_or_404(serial: str) -> Certificate:
    certificate = by_serial(serial)
    if certificate is None or not may_see_municipality(current_user, certificate.municipality_id):
        abort(404)
    return certificate


@bp.get("/certificates/<serial>.pdf")
@roles_required(*VIEW_ROLES)
def download(serial: str):
    certificate = _visible_certificate_or_404(serial)
    try:
        data = read_stored_pdf(certificate)
    except (OSError, ValueError):
        # Never hand out a file that is not the one whose hash the public page shows.
        current_app.logger.exception("Stored file of certificate %s is unusable", serial)
        abort(500)
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"sustainable-ct-certificate-{certificate.serial}.pdf",
        etag=certificate.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"
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


# --- Public verification ---------------------------------------------------------------------


def _public(response_body: str, status: int) -> Response:
    response = current_app.make_response((response_body, status))
    # A check page is for people holding a certificate, not for search engines.
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/verify")
def verify_lookup():
    """The form to type a serial; with ?serial= it goes to that certificate's page."""
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


def _unknown(typed: str) -> Response:
    body = render("certificates/verify.html", certificate=None, typed=typed, unknown=True)
    return _public(body, 404)


@bp.get("/verify/<serial>")
def verify(serial: str):
    """What a certificate says and whether it still holds, for anyone."""
    canonical = normalise_serial(serial)
    if canonical is None:
        return _unknown(serial)
    if canonical != serial:
        return redirect(url_for("certificates.verify", serial=canonical), 301)
    certificate = by_serial(canonical)
    if certificate is None:
        return _unknown(serial)
    public_status = certificate.public_status(date.today())
    body = render(
        "certificates/verify.html",
        certificate=certificate,
        typed=certificate.serial,
        public_status=public_status,
        expired=public_status == EXPIRED,
        url=verification_url(certificate.serial),
    )
    return _public(body, 200)
