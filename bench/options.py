"""What a run was asked for on the command line."""

from __future__ import annotations

from dataclasses import dataclass

from bench.instance import DEFAULT_POSTGRES_URL


@dataclass(frozen=True)
class Options:
    postgres_url: str = DEFAULT_POSTGRES_URL
