"""Small helpers shared by tests."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_FIELD.search(html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in_with_csrf(client: FlaskClient, email: str, password: str):
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def example_url_args(rule, values: dict) -> dict:
    """Values for every argument of a URL rule, taken from ``values`` by name or by converter."""
    args = {}
    for name in rule.arguments:
        if name in values:
            args[name] = values[name]
        else:
            converter = rule._converters[name].__class__.__name__  # noqa: SLF001
            args[name] = 1 if converter.endswith("IntegerConverter") else "x"
    return args
