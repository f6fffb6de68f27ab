"""Recertification pages: start a toolkit from an earlier cycle's toolkit, see what the copy
must renew, and attach the earlier toolkit's files again one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import format_date
from flask_login import current_user

from sct_forms.access import municipality_or_404, roles_required, visible_or_404
from sct_forms.cycles import current_cycle
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.forms import ButtonForm
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.models import Toolkit
from sct_forms.templating import render
from sct_forms.toolkits import recertification, services
from sct_forms.toolkits.copy_forms import CopyToolkitForm
from sct_forms.toolkits.messages import start_refused_message

bp = Blueprint("recertification", __name__)


def _current_cycle_or_404():  # noqa: ANN202
    cycle = current_cycle(date.today())
    if cycle is None:
        abort(404)
    return cycle


@bp.get("/towns/<slug>/toolkits/copy")
@roles_required(Role.STAFF)
def choose(slug: str):
    """The town's toolkits of earlier cycles, to start this cycle's toolkit from one."""
    town = municipality_or_404(slug)
    cycle = _current_cycle_or_404()
    return render(
        "toolkits/copy_choose.html",
        town=town,
        cycle=cycle,
        earlier=recertification.earlier_toolkits(town, cycle),
        certified=recertification.certified_actions(town, cycle),
        copies=[t for t in services.toolkits_of(town, cycle) if t.copied_from_id is not None],
    )


@bp.route("/towns/<slug>/toolkits/copy/<int:toolkit_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def copy(slug: str, toolkit_id: int):
    """Choose the action for the copy of one earlier toolkit, and start it."""
    town = municipality_or_404(slug)
    cycle = _current_cycle_or_404()
    try:
        source = recertification.source_toolkit(town, cycle, toolkit_id)
    except recertification.NotCopyableError:
        abort(404)
    form = CopyToolkitForm()
    default = recertification.default_action(town, cycle, source)
    if request.method == "GET" and default is not None:
        form.action_id.data = default.id
    error = None
    if form.validate_on_submit():
        try:
            toolkit = recertification.copy_toolkit(
                town, cycle, source.id, form.action_id.data, form.confirmed.data, current_user
            )
        except PermissionError:
            abort(403)
        except recertification.NotCopyableError:
            abort(404)
        except recertification.CopyRefusedError as refused:
            error = refused_message(refused.code, refused.params)
        else:
            return redirect(url_for("recertification.summary", toolkit_id=toolkit.id), 303)
    return render(
        "toolkits/copy_form.html",
        town=town,
        cycle=cycle,
        source=source,
        form=form,
        default=default,
        groups=services.pairable_actions(town, cycle),
        certified=recertification.certified_actions(town, cycle),
        paired={t.paired_action_id: t for t in services.toolkits_of(town, cycle)},
        error=error,
    ), 422 if error or form.errors else 200


@bp.get("/toolkits/<int:toolkit_id>/copied")
@roles_required(*ALL_ROLES)
def summary(toolkit_id: int):
    """What a copied toolkit must renew: answers not copied, old dates, files to attach."""
    return _summary_page(visible_or_404(Toolkit, toolkit_id))


def _summary_page(toolkit: Toolkit, error: str | None = None, status: int = 200):  # noqa: ANN202
    if toolkit.copied_from_id is None:
        abort(404)
    definition = services.definition_for(toolkit)
    files = recertification.earlier_evidence(toolkit)
    dates = recertification.dates_to_renew(toolkit)
    return render(
        "toolkits/copied.html",
        toolkit=toolkit,
        source=toolkit.copied_from,
        language=get_locale_language(),
        dropped=recertification.dropped_answers(toolkit),
        steps=[
            (
                step,
                [d for d in dates if d.step_key == step.key],
                [f for f in files if f.evidence.step_key == step.key],
            )
            for step in definition.steps
        ],
        files_of_steps_gone=[f for f in files if not f.step_exists],
        editable=services.may_edit(current_user, toolkit),
        error=error,
    ), status


@bp.post("/toolkits/<int:toolkit_id>/copied/evidence/<int:evidence_id>")
@roles_required(Role.STAFF)
def attach(toolkit_id: int, evidence_id: int):
    """Attach one file of the earlier toolkit to the copy (again: nothing changes)."""
    toolkit = visible_or_404(Toolkit, toolkit_id)
    ButtonForm().validate_button()
    try:
        evidence, _attached_now = recertification.attach_evidence(
            toolkit, evidence_id, current_user
        )
    except PermissionError:
        abort(403)
    except recertification.NotCopyableError:
        abort(404)
    except recertification.CopyRefusedError as refused:
        if refused.code == "locked":
            abort(409)
        return _summary_page(toolkit, refused_message(refused.code, refused.params), 422)
    if request.form.get("back") == "step":
        return redirect(
            url_for(
                "toolkits.step",
                toolkit_id=toolkit_id,
                step_key=evidence.step_key,
                uploaded=1,
            )
            + "#evidence",
            303,
        )
    return redirect(
        url_for("recertification.summary", toolkit_id=toolkit_id, attached=evidence.id)
        + f"#earlier-{evidence.step_key}",
        303,
    )


def refused_message(code: str, params: dict[str, Any]) -> str:
    """A refused copy or attachment in words."""
    if code == "certified_before":
        return _(
            "Your town was certified with an Equity Toolkit on %(action)s in %(cycle)s. On "
            "recertification the equity process must be applied to a new action: choose "
            "another action for this cycle.",
            action=params["action"],
            cycle=params["cycle"],
        )
    if code == "step_gone":
        return _("This step is no longer part of the toolkit, so its files cannot be attached.")
    if code == "file_missing":
        return _(
            "The file “%(title)s” is missing from storage, so it cannot be attached. Upload it "
            "again on its step, or tell the program: they can restore it from a backup.",
            title=params["title"],
        )
    return start_refused_message(code, params)


# --- on the step pages of a copy ------------------------------------------------------------


@dataclass(frozen=True)
class CopiedStep:
    """What a copied toolkit's step page shows of the earlier toolkit."""

    source: Toolkit
    dates: list
    files: list
    lookback_start: str


@bp.app_template_global("copied_step")
def copied_step(toolkit: Toolkit, step_key: str) -> CopiedStep | None:
    """The earlier toolkit's dates to renew and files of one step, for a copy's step page."""
    if toolkit.copied_from_id is None:
        return None
    return CopiedStep(
        source=toolkit.copied_from,
        dates=recertification.dates_to_renew(toolkit, step_key),
        files=recertification.earlier_evidence(toolkit, step_key),
        lookback_start=format_date(toolkit.cycle.lookback_start, "long"),
    )
