"""Batches of messages applied in transactions: every message ends recorded, duplicate, dismissed, conflict or
rejected, and nothing a message carries can stop the batches.

A batch is one transaction (what it needs read once, its rows written together). When it fails as a whole —
another recorder wrote the same record at the same moment, a bug, a value the database refuses — it goes
round again with each message in a transaction of its own, so that the culprit is refused alone and kept as
a dead letter; if even its dead letter cannot be kept, it is logged. Only an unavailable database holds
messages back (unacknowledged, retried with backoff).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from monitor.adapters.store.dead_letters import add_dead_letter, trim_dead_letters
from monitor.config import MonitorConfig
from monitor.contract import Status, Topics
from monitor.core.calendar import WorkCalendar
from monitor.formatting import storable
from monitor.services.recorder import handlers
from monitor.services.recorder.handlers import Books, Handled

log = logging.getLogger(__name__)

Message = tuple[str, bytes]
BATCH_SIZE = 200
"""Most messages applied in one transaction (one commit, then their acknowledgements)."""


ID_TAKEN = "此记录的编号已被其他记录使用，未保存：请刷新页面后重新填写"
"""Why a supervisor's record whose id the store already holds (another site's record) was refused."""


class BatchWriter:
    """Applies batches to the database for one recorder."""

    def __init__(
        self,
        config: MonitorConfig,
        engine: Engine,
        calendar: WorkCalendar,
        clock: Callable[[], dt.datetime],
        stop: threading.Event,
    ) -> None:
        self.config = config
        self.engine = engine
        self.calendar = calendar
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_prefix)
        self._stop = stop

    def apply(self, messages: Sequence[Message]) -> list[Handled] | None:
        """Apply and commit; None when the recorder stops while the database is unavailable."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                return self._apply_once(messages)
            except OperationalError as exc:
                log.error("database unavailable (%s); retrying in %.1fs, messages not acknowledged", exc.orig, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30)
        return None

    def _apply_once(self, messages: Sequence[Message]) -> list[Handled]:
        now = self.clock()
        try:
            with Session(self.engine) as session:
                results = self._apply_together(session, messages, now)
                session.commit()
            return results
        except OperationalError:
            raise
        except Exception as exc:  # the one-by-one round names the culprit and refuses it alone
            log.debug("batch failed as a whole (%s: %s); applying it message by message", type(exc).__name__, exc)
        return [self._apply_alone(topic, payload, now) for topic, payload in messages]

    def _books(self, session: Session, messages: Sequence[Message]) -> Books:
        return Books.read(session, messages, self.topics, self.config.hall.tz)

    def _handle(self, session: Session, topic: str, payload: bytes, now: dt.datetime, books: Books) -> Handled:
        return handlers.handle_message(session, self.config, self.calendar, topic, payload, now, books)

    def _apply_together(self, session: Session, messages: Sequence[Message], now: dt.datetime) -> list[Handled]:
        books = self._books(session, messages)
        results = [self._handle(session, topic, payload, now, books) for topic, payload in messages]
        refused = [(m, h) for m, h in zip(messages, results, strict=True) if h.status is not Status.RECORDED]
        refused = [(m, h) for m, h in refused if h.status in (Status.REJECTED, Status.CONFLICT)]
        for (topic, payload), handled in refused:
            add_dead_letter(session, storable(topic, 1000), storable(handled.detail, 4000), payload, now)
        if refused:
            trim_dead_letters(session, self.config.recorder.dead_letters)
        session.flush()  # a write the database refuses fails here, inside the round, not at the commit
        return results

    def _apply_alone(self, topic: str, payload: bytes, now: dt.datetime) -> Handled:
        """One message in a transaction of its own; whatever fails but the database's availability refuses it."""
        handled: Handled | None = None
        for _attempt in range(3):
            try:
                with Session(self.engine) as session:
                    handled = self._handle(session, topic, payload, now, self._books(session, [(topic, payload)]))
                    session.flush()
                    if handled.status in (Status.REJECTED, Status.CONFLICT):
                        session.rollback()  # a refusal writes nothing; its dead letter follows
                    else:
                        session.commit()
                break
            except OperationalError:
                raise
            except IntegrityError as exc:
                # Another recorder wrote the same record at the same moment: the next attempt sees a duplicate. Or
                # its id is another site's record's (ids are the district's): refused, and a supervisor's record
                # answered all the same (the receipt its handler named before the write failed).
                handled = Handled(
                    Status.REJECTED,
                    f"the database refused it: {exc.orig}",
                    receipt=handled.receipt if handled is not None else None,
                    words=ID_TAKEN,
                )
            except Exception as exc:  # quarantine: one message must never stop the recorder
                log.exception("message on %s could not be handled; quarantined", storable(topic, 200))
                handled = Handled(
                    Status.REJECTED,
                    f"could not be recorded ({type(exc).__name__}: {str(exc)[:500]}); kept as a dead letter",
                )
                break
        assert handled is not None
        if handled.status in (Status.REJECTED, Status.CONFLICT):
            self._keep_dead_letter(topic, payload, handled, now)
        return handled

    def _keep_dead_letter(self, topic: str, payload: bytes, handled: Handled, now: dt.datetime) -> None:
        try:
            with Session(self.engine) as session:
                add_dead_letter(session, storable(topic, 1000), storable(handled.detail, 4000), payload, now)
                trim_dead_letters(session, self.config.recorder.dead_letters)
                session.commit()
        except OperationalError:
            raise
        except Exception:  # the message is still acknowledged: the log is its last record
            log.exception(
                "a refused message on %s could not be kept as a dead letter (%s); payload %r",
                storable(topic, 200),
                storable(handled.detail, 500),
                payload[:2000],
            )
