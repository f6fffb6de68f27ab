"""A browser inside this process: the app's test client, each request in its own app context.

The benchmark keeps an app context of its own open while it builds data; a request must not
share its ``g`` or its database session, as it would not in production.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from werkzeug.datastructures import MultiDict

from bench.instance import BenchError
from bench.load import Reply
from bench.pages import csrf_token
from bench.world import PASSWORD


class AppBrowser:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()

    def request(
        self,
        method: str,
        path: str,
        fields: Sequence[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        with self.app.app_context():
            response = self.client.open(
                path,
                method=method,
                data=MultiDict(list(fields)) if fields is not None else None,
                headers=headers or {},
            )
            body = response.get_data()
            response.close()
        return Reply(response.status_code, body)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def sign_in(self, email: str, password: str = PASSWORD) -> AppBrowser:
        page = self.get("/sign-in")
        token = csrf_token(page.text)
        if token is None:
            raise BenchError(f"the sign-in page answered {page.status} without a form token")
        fields = [("email", email), ("password", password), ("csrf_token", token)]
        reply = self.request("POST", "/sign-in", fields)
        if reply.status != 303:
            raise BenchError(f"signing in as {email} answered {reply.status}")
        return self
