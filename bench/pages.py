"""Reading what a page offers to post: a form's fields, the CSRF token, a step's version."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
_BASE_VERSION = re.compile(r'name="base_version" value="(-?\d+)"')
_TEXT_INPUTS = frozenset({"text", "email", "search", "tel", "url", ""})


def csrf_token(html: str) -> str | None:
    """The page's CSRF token: a form's hidden field, else the page's meta tag."""
    match = _CSRF_FIELD.search(html) or _CSRF_META.search(html)
    return match.group(1) if match else None


def base_version(html: str) -> int | None:
    """The step version a step page (or an autosave's answer) says the next save builds on."""
    match = _BASE_VERSION.search(html)
    return int(match.group(1)) if match else None


class _FormReader(HTMLParser):
    """Collects what a browser would post from one form: its successful controls, in order."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.fields: list[tuple[str, str]] = []
        self.text_fields: list[str] = []
        self._depth = 0  # > 0 inside the form
        self._textarea: tuple[str, list[str]] | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option: tuple[str | None, bool, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: (value or "") for name, value in attrs}
        if tag == "form":
            if self._depth:
                self._depth += 1
            elif found.get("id") == self.form_id:
                self._depth = 1
            return
        if not self._depth or "disabled" in found:
            return
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in found:
                    self.fields.append((name, found.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self.fields.append((name, found.get("value", "")))
                if kind in _TEXT_INPUTS:
                    self.text_fields.append(name)
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select is not None:
            self._option = (found.get("value"), "selected" in found, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._option is not None:
            self._option[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._depth:
            self._depth -= 1
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            # A browser drops the one newline that may follow <textarea>.
            value = "".join(parts)
            self.fields.append((name, value[1:] if value.startswith("\n") else value))
            self.text_fields.append(name)
            self._textarea = None
        elif tag == "option" and self._option is not None:
            self._close_option()
        elif tag == "select" and self._select is not None:
            if self._option is not None:
                self._close_option()
            if not self._select_chosen and self._select_first is not None:
                self.fields.append((self._select, self._select_first))
            self._select = None

    def _close_option(self) -> None:
        value, selected, text = self._option
        self._option = None
        value = value if value is not None else "".join(text).strip()
        if self._select_first is None:
            self._select_first = value
        if selected:
            self.fields.append((self._select, value))
            self._select_chosen = True


def form_fields(html: str, form_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What the form ``form_id`` posts as it stands, and the names of its free-text fields.

    Raises LookupError when the page has no such form.
    """
    reader = _FormReader(form_id)
    reader.feed(html)
    reader.close()
    if not reader.fields:
        raise LookupError(f"no form #{form_id} with fields in the page")
    return reader.fields, reader.text_fields
