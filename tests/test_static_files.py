"""Static files are named with a content fingerprint and kept by browsers until it changes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import url_for

from sct_forms import static_files
from tests.conftest import sign_in

STATIC = Path(__file__).resolve().parent.parent / "static"


def current_version(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def test_pages_name_the_current_version_of_each_static_file(client):
    html = client.get("/sign-in").get_data(as_text=True)
    addresses = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert len(addresses) >= 3, addresses
    for address in addresses:
        parts = urlsplit(address.replace("&amp;", "&"))
        filename = parts.path.removeprefix("/static/")
        assert parse_qs(parts.query)["v"] == [current_version(filename)], address


def test_the_current_version_is_kept_a_year_without_asking_again(client):
    with client.application.test_request_context():
        address = url_for("static", filename="js/app.js")
    response = client.get(address)
    assert response.status_code == 200
    cache = response.cache_control
    assert cache.max_age == 365 * 24 * 60 * 60 and cache.immutable and cache.public
    assert not cache.no_cache and not cache.no_store
    response.close()


def test_a_signed_in_browser_keeps_the_current_version_too(client, staff_user):
    sign_in(client, staff_user)
    with client.application.test_request_context():
        address = url_for("static", filename="css/app.css")
    response = client.get(address)
    assert response.cache_control.immutable and not response.cache_control.no_store
    assert "Set-Cookie" not in response.headers
    response.close()


def test_an_address_without_a_version_or_with_an_old_one_is_checked_each_time(client):
    for query in ("", "?v=000000000000", "?v="):
        address = "/static/js/app.js" + query
        response = client.get(address)
        assert response.status_code == 200, address
        assert response.cache_control.no_cache, address
        assert not response.cache_control.max_age and not response.cache_control.immutable
        response.close()


def test_a_missing_file_is_404_and_named_without_a_version(client):
    with client.application.test_request_context():
        address = url_for("static", filename="js/missing.js")
        outside = url_for("static", filename="../sct_forms/config.py")
    assert "v=" not in address and "v=" not in outside
    response = client.get(address + "?v=abc")
    assert response.status_code == 404
    assert not response.cache_control.immutable


def test_an_edited_file_gets_a_new_version(app, tmp_path, monkeypatch):
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "site.css").write_text("body { color: black; }")
    monkeypatch.setattr(app, "static_folder", str(folder))
    with app.test_request_context():
        before = static_files.fingerprint("site.css")
        (folder / "site.css").write_text("body { color: navy; }")
        after = static_files.fingerprint("site.css")
        address = url_for("static", filename="site.css")
    assert before and after and before != after
    assert address.endswith(f"v={after}")
