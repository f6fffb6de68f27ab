"""Sign-in throttling that slows guessing without locking the real owner out.

Each counter gives a delay after its own last failure; an attempt within any delay is refused
without checking the password:

- one account from one address: a few free failures, then 1 s, 2 s, 4 s ... up to
  SIGNIN_MAX_DELAY_SECONDS; a sign-in to the account from that address starts it again, and
  failures from other addresses never count, so the owner elsewhere is not held up;
- one address across all accounts: the same growing delay after more free failures;
- one account across all addresses (guessing spread over many addresses): past a high ceiling,
  a short fixed wait, which addresses the account signed in from before do not have.

Failures are kept as the trace of an attack, and pruned after SIGNIN_FAILURE_RETENTION_DAYS.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from sct_forms.auth import clock
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, SignInFailure, User

# Successful sign-ins looked at to know the account's usual addresses.
_KNOWN_ADDRESS_LOOKBACK = 50


def growing_delay(failures: int, free: int) -> float:
    """Seconds to wait after the last of ``failures``: none up to ``free``, then doubling."""
    if failures < free:
        return 0.0
    doubling = min(failures - free, 40)  # 2**40 s is far past any cap
    return min(2.0**doubling, float(current_app.config["SIGNIN_MAX_DELAY_SECONDS"]))


def _failures(*conditions) -> tuple[int, datetime | None]:  # noqa: ANN002
    count, last = db.session.execute(
        select(func.count(SignInFailure.id), func.max(SignInFailure.at)).where(*conditions)
    ).one()
    return count, last


def _sign_ins(user: User, since: datetime) -> list[tuple[datetime, str | None]]:
    """(time, address) of the account's recent successful sign-ins, newest first."""
    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.details)
        .where(
            AuditEvent.action == "user.signed_in",
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user.id),
            AuditEvent.at >= since,
        )
        .order_by(AuditEvent.at.desc())
        .limit(_KNOWN_ADDRESS_LOOKBACK)
    )
    return [(at, (details or {}).get("address")) for at, details in rows]


def wait_seconds(email: str, address: str, user: User | None) -> int:
    """Whole seconds before ``email`` may try again from ``address``; 0 if it may try now."""
    config = current_app.config
    current = clock.now()
    window_start = current - timedelta(hours=config["SIGNIN_WINDOW_HOURS"])
    retention = timedelta(days=config["SIGNIN_FAILURE_RETENTION_DAYS"])
    sign_ins = _sign_ins(user, current - retention) if user is not None else []
    since_here = max([window_start] + [at for at, where in sign_ins if where == address])

    waits = [0.0]
    count, last = _failures(
        SignInFailure.email == email,
        SignInFailure.remote_addr == address,
        SignInFailure.at > since_here,
    )
    waits.append(_remaining(last, growing_delay(count, config["SIGNIN_FREE_FAILURES"]), current))
    count, last = _failures(SignInFailure.remote_addr == address, SignInFailure.at > window_start)
    free = config["SIGNIN_ADDRESS_FREE_FAILURES"]
    waits.append(_remaining(last, growing_delay(count, free), current))
    if address not in {where for _, where in sign_ins}:
        count, last = _failures(SignInFailure.email == email, SignInFailure.at > window_start)
        if count >= config["SIGNIN_ACCOUNT_FREE_FAILURES"]:
            waits.append(_remaining(last, config["SIGNIN_ACCOUNT_DELAY_SECONDS"], current))
    return math.ceil(max(waits))


def _remaining(last: datetime | None, delay: float, current: datetime) -> float:
    if last is None or delay <= 0:
        return 0.0
    return max(0.0, (last - current).total_seconds() + delay)


def record_failure(email: str, address: str) -> None:
    """Keep one failed attempt (in the caller's transaction) and prune those past retention."""
    current = clock.now()
    db.session.add(SignInFailure(email=email, remote_addr=address, at=current))
    retention = timedelta(days=current_app.config["SIGNIN_FAILURE_RETENTION_DAYS"])
    db.session.execute(delete(SignInFailure).where(SignInFailure.at < current - retention))
