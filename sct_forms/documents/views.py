"""PDF submission packets over the web: downloads, print previews and a progress page.

Every route asks the same two questions as the rest of the app: the role (``roles_required``)
and the object (``visible_or_404``); a packet of another town answers 404. Downloads are
cached by content (packet_cache.cache_name) and carry that key as their ETag.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from sct_forms.access import may_see_municipality, roles_required, visible_or_404
from sct_forms.cycles import current_cycle
from sct_forms.documents import packet_cache, packet_pdf, packets
from sct_forms.domain.roles import ALL_ROLES, REVIEW_PARTIES, Role
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.models import Cycle, Evidence, Municipality, Toolkit
from sct_forms.storage.streaming import stored_file_response
from sct_forms.templating import render, wants_fragment

bp = Blueprint("documents", __name__)

# Who may ask a town packet for the review history: the town itself and the reviewers.
HISTORY_ROLES = REVIEW_PARTIES


# --- Loading what a packet is about -------------------------------------------------------------


def _toolkit_packet(toolkit_id: int) -> tuple[packets.ToolkitPacket, packet_cache.PacketRequest]:
    toolkit = visible_or_404(Toolkit, toolkit_id)
    language = get_locale_language()
    return (
        packets.toolkit_packet(toolkit, language),
        packet_cache.PacketRequest("toolkit", toolkit.id, language),
    )


def _town_packet(slug: str) -> tuple[packets.TownPacket, packet_cache.PacketRequest]:
    town = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    # 404, not 403, for another town: its packet's existence is not revealed.
    if town is None or not may_see_municipality(current_user, town.id):
        abort(404)
    cycle_id = request.args.get("cycle", type=bounded_int)
    cycle = db.session.get(Cycle, cycle_id) if cycle_id else current_cycle(date.today())
    if cycle is None:
        abort(404)
    history = request.args.get("history") == "1"
    if history and current_user.role not in HISTORY_ROLES:
        abort(403)
    for_town = current_user.role == Role.STAFF
    language = get_locale_language()
    packet = packets.town_packet(town, cycle, language, history=history, for_town=for_town)
    return packet, packet_cache.PacketRequest(
        "town", town.id, language, cycle_id=cycle.id, history=history, for_town=for_town
    )


def _town_args(packet: packets.TownPacket) -> dict:
    args: dict = {"slug": packet.town.slug, "cycle": packet.cycle.id}
    if packet.history is not None:
        args["history"] = 1
    return args


# --- Responses ----------------------------------------------------------------------------------


def _not_modified(key: str) -> Response:
    response = Response(status=304)
    response.set_etag(key)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _pdf_response(packet: packets.ToolkitPacket | packets.TownPacket) -> Response:
    """The packet's PDF from the cache (built now if missing), or 304 if the client has it."""
    if request.if_none_match.contains_weak(packet.key):
        return _not_modified(packet.key)
    response = stored_file_response(
        packet_cache.open_cached_pdf(packet),
        mimetype="application/pdf",
        etag=packet.key,
        download_name=packet.file_name,
    )
    # private: a packet is one town's; no-cache: check the ETag, since any edit changes it.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _preview_response(packet: packets.ToolkitPacket | packets.TownPacket) -> Response:
    response = Response(packet_pdf.render_preview(packet), mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _progress_response(
    packet: packets.ToolkitPacket | packets.TownPacket,
    packet_request: packet_cache.PacketRequest,
    *,
    urls: dict[str, str],
    back: tuple[str, str],
    fragment: bool,
):
    """The progress page, or (for htmx polling) its status part; 204 while nothing changed."""
    if request.args.get("retry") == "1":
        packet_cache.forget_failure(packet)
    packet_cache.queue_build(packet, packet_request)
    state = packet_cache.build_state(packet)
    if fragment and wants_fragment() and state in ("building", "missing"):
        # Nothing new: htmx swaps nothing, keeps polling, and the live region stays quiet.
        return Response(status=204)
    response = Response(
        render(
            "documents/progress.html",
            block="status" if fragment else None,
            packet=packet,
            state=state,
            urls=urls,
            back_url=back[0],
            back_label=back[1],
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- A toolkit's packet -------------------------------------------------------------------------


@bp.get("/toolkits/<int:toolkit_id>/packet.pdf")
@roles_required(*ALL_ROLES)
def toolkit_pdf(toolkit_id: int):
    packet, _request = _toolkit_packet(toolkit_id)
    return _pdf_response(packet)


@bp.get("/toolkits/<int:toolkit_id>/packet/preview")
@roles_required(*ALL_ROLES)
def toolkit_preview(toolkit_id: int):
    packet, _request = _toolkit_packet(toolkit_id)
    return _preview_response(packet)


def _toolkit_urls(toolkit_id: int) -> dict[str, str]:
    return {
        "pdf": url_for("documents.toolkit_pdf", toolkit_id=toolkit_id),
        "page": url_for("documents.toolkit_progress", toolkit_id=toolkit_id),
        "retry": url_for("documents.toolkit_progress", toolkit_id=toolkit_id, retry=1),
        "status": url_for("documents.toolkit_status", toolkit_id=toolkit_id),
        "preview": url_for("documents.toolkit_preview", toolkit_id=toolkit_id),
    }


@bp.get("/toolkits/<int:toolkit_id>/packet")
@roles_required(*ALL_ROLES)
def toolkit_progress(toolkit_id: int):
    packet, packet_request = _toolkit_packet(toolkit_id)
    back = (
        url_for("toolkits.review", toolkit_id=toolkit_id),
        _("Back to the toolkit"),
    )
    return _progress_response(
        packet, packet_request, urls=_toolkit_urls(toolkit_id), back=back, fragment=False
    )


@bp.get("/toolkits/<int:toolkit_id>/packet/status")
@roles_required(*ALL_ROLES)
def toolkit_status(toolkit_id: int):
    packet, packet_request = _toolkit_packet(toolkit_id)
    back = (url_for("toolkits.review", toolkit_id=toolkit_id), _("Back to the toolkit"))
    return _progress_response(
        packet, packet_request, urls=_toolkit_urls(toolkit_id), back=back, fragment=True
    )


@bp.get("/toolkits/<int:toolkit_id>/packet/images/<name>")
@roles_required(*ALL_ROLES)
def preview_image(toolkit_id: int, name: str):
    """An evidence image of the toolkit for the print preview (the print rendition if any)."""
    toolkit = visible_or_404(Toolkit, toolkit_id)
    evidence = db.session.scalar(
        select(Evidence).where(
            Evidence.toolkit_id == toolkit.id,
            Evidence.kind == "image",
            or_(Evidence.storage_name == name, Evidence.print_storage_name == name),
        )
    )
    if evidence is None:
        abort(404)
    try:
        stream = storage.open_stored(name)
    except (storage.StoredFileMissing, ValueError):
        abort(404)
    mimetype = "image/jpeg" if name == evidence.print_storage_name else evidence.mime_type
    # Storage names are random and their files never change, so the name is a fine ETag.
    response = stored_file_response(stream, mimetype=mimetype, etag=name)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- A town's packet ----------------------------------------------------------------------------


@bp.get("/towns/<slug>/packet.pdf")
@roles_required(*ALL_ROLES)
def town_pdf(slug: str):
    packet, _request = _town_packet(slug)
    return _pdf_response(packet)


@bp.get("/towns/<slug>/packet/preview")
@roles_required(*ALL_ROLES)
def town_preview(slug: str):
    packet, _request = _town_packet(slug)
    return _preview_response(packet)


def _town_urls(packet: packets.TownPacket) -> dict[str, str]:
    args = _town_args(packet)
    return {
        "pdf": url_for("documents.town_pdf", **args),
        "page": url_for("documents.town_progress", **args),
        "retry": url_for("documents.town_progress", retry=1, **args),
        "status": url_for("documents.town_status", **args),
        "preview": url_for("documents.town_preview", **args),
    }


@bp.get("/towns/<slug>/packet")
@roles_required(*ALL_ROLES)
def town_progress(slug: str):
    packet, packet_request = _town_packet(slug)
    back = (url_for("towns.show", slug=slug, cycle=packet.cycle.id), packet.town.name)
    return _progress_response(
        packet, packet_request, urls=_town_urls(packet), back=back, fragment=False
    )


@bp.get("/towns/<slug>/packet/status")
@roles_required(*ALL_ROLES)
def town_status(slug: str):
    packet, packet_request = _town_packet(slug)
    back = (url_for("towns.show", slug=slug, cycle=packet.cycle.id), packet.town.name)
    return _progress_response(
        packet, packet_request, urls=_town_urls(packet), back=back, fragment=True
    )
