"""The recorder lease: one recorder process at a time holds the durable MQTT session.

Two recorders on one database run as active and standby: the holder renews the lease well before
it expires; a standby takes it over only once it has expired (the holder died or lost the
database), and only then connects with the recorder's client id — so two live recorders never
fight over one MQTT session. Each call is one short transaction of its own.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from monitor.adapters.store.tables import RecorderLeaseRow


def acquire(engine: Engine, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> RecorderLeaseRow:
    """Take or renew the lease when it is free, expired or already ours; returns the row as it stands."""
    with Session(engine) as session:
        taken = session.exec(  # type: ignore[call-overload]
            update(RecorderLeaseRow)
            .where(
                col(RecorderLeaseRow.name) == name,
                (col(RecorderLeaseRow.holder) == holder) | (col(RecorderLeaseRow.expires_at) < now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        if taken.rowcount == 0 and session.get(RecorderLeaseRow, name) is None:
            session.add(RecorderLeaseRow(name=name, holder=holder, expires_at=now + ttl))
            try:
                session.commit()
            except IntegrityError:  # another recorder created it at the same moment
                session.rollback()
        else:
            session.commit()
        row = session.get(RecorderLeaseRow, name)
        assert row is not None
        session.expunge(row)
        return row


def take_over(engine: Engine, name: str, dead: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take the lease from `dead` (a holder known to have died) before it expires; False if it moved on."""
    with Session(engine) as session:
        taken = session.exec(  # type: ignore[call-overload]
            update(RecorderLeaseRow)
            .where(col(RecorderLeaseRow.name) == name, col(RecorderLeaseRow.holder) == dead)
            .values(holder=holder, expires_at=now + ttl)
        )
        session.commit()
        return bool(taken.rowcount)


def release(engine: Engine, name: str, holder: str, now: dt.datetime) -> None:
    """Give the lease up at a clean stop, so that a standby takes over at once."""
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(RecorderLeaseRow)
            .where(col(RecorderLeaseRow.name) == name, col(RecorderLeaseRow.holder) == holder)
            .values(expires_at=now)
        )
        session.commit()


def note_session(engine: Engine, name: str, now: dt.datetime) -> None:
    """Remember that the broker holds the recorder's subscriptions (from now on it must keep them)."""
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(RecorderLeaseRow)
            .where(col(RecorderLeaseRow.name) == name, col(RecorderLeaseRow.session_since).is_(None))
            .values(session_since=now)
        )
        session.commit()
