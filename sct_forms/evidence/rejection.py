"""The refusal of an upload, as inspection raises it and the web layer words it."""

from __future__ import annotations

from typing import Any


class UploadRejected(ValueError):  # noqa: N818 - public name agreed with the web layer
    """An upload we refuse; ``code`` and ``params`` are translated by the web layer."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.code} ({details})" if details else self.code
