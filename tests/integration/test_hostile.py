"""The recorder attacked through the shipped broker: nothing a client sends stops it.

A Mosquitto runs the repository's conf and ACL (as tests/integration/test_broker_acl.py starts it) and one
Recorder logs in as `recorder`, for the whole test: it is never restarted. The attacker holds the `cameras`
account (what a stolen camera password can send) and a `supervisor` account with the supervisor's signing key
(what only a signed record reaches: past the signature, into admission and the database). Named cases, then
hypothesis-generated ones, go to every topic the recorder reads, and to topics it does not handle wherever the
ACL lets the account write, on SQLite and on PostgreSQL (`db_url`). Then:

- every valid signed record sent after them is recorded within seconds, with the receipt that says so;
- each refused message is a dead letter and a rejection on <prefix>/rejected, with a reason of its own: none
  was quarantined as an error nobody foresaw (a "500"), none was logged as an error;
- no recorder thread died (`on_fatal` never called) and the recorder still holds its session.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import Session, func, select

from monitor.adapters.keys import read_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import (
    DeadLetterRow,
    DismissalRow,
    EvidenceRow,
    IncidentRow,
    LeaveRow,
    WindowStateRow,
)
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import (
    MAX_MINUTES,
    MAX_PAYLOAD,
    MAX_SEQ,
    Dismissal,
    IncidentEvent,
    LeaveGrant,
    Receipt,
    Rejection,
    Status,
    Topics,
    WindowLeaves,
)
from monitor.core.signature import DOMAIN, SigningKey
from monitor.formatting import storable
from monitor.services.recorder import Handled, Recorder
from tests.integration import test_broker_acl as acl
from tests.support.config import SUPERVISOR, hall_config, supervisor_key

pytestmark = pytest.mark.mosquitto

PREFIX = acl.PREFIX
"""The prefix the shipped ACL is written for (hall/hedong)."""
T = Topics(PREFIX)
TZ = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2020, 11, 4, 9, 12, tzinfo=TZ)
"""A working Wednesday morning of the seed hall: patrol findings then are admitted."""
USER_ENV, PASSWORD_ENV = "HOSTILE_TEST_MQTT_USERNAME", "HOSTILE_TEST_MQTT_PASSWORD"
CAMERA = CameraConfig.model_validate(
    {
        "id": "cam-c20",
        "url": "rtsp://camera.invalid/1",
        "windows": [{"window": "C20", "polygon": [[0, 0], [1, 0], [1, 1]]}],
    }
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 hostile evidence"
OTHER_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 other bytes"
REFUSED = (Status.REJECTED, Status.CONFLICT)
QUARANTINE = ("could not be recorded", "the database refused it")
"""How a refusal reads when the recorder did not foresee the failure (an exception, a database error)."""
NOT_TEXT = "unable to parse raw data as a unicode string"
"""How pydantic refuses a string with a lone surrogate (before the contract's own check says so)."""
SETTLE = 15.0
"""Seconds within which a valid record sent after the barrage must be recorded."""

CAMERAS, SUPERVISOR_ACCOUNT = "cameras", "supervisor"


# --- records, as an attacker builds them -------------------------------------------------------------------


def incident(incident_id: str, **fields: object) -> dict[str, object]:
    """A patrol finding's JSON fields (unsigned): a late arrival at C20, admitted as it stands."""
    base: dict[str, object] = {
        "schema": 1,
        "id": incident_id,
        "event": "new",
        "seq": 0,
        "kind": "late_arrival",
        "window": "C20",
        "started_at": AT.isoformat(),
        "minutes": 12,
        "source": f"patrol:{SUPERVISOR}",
    }
    return {**base, **fields}


def dismissal(incident_id: str, **fields: object) -> dict[str, object]:
    return {
        "schema": 1,
        "incident_id": incident_id,
        "reason": "申诉成立",
        "by": SUPERVISOR,
        "at": AT.isoformat(),
        **fields,
    }


def leave(leave_id: str, **fields: object) -> dict[str, object]:
    """Leave at A01 (never C20: the patrol findings sent after it must stay admitted)."""
    start = AT.replace(day=6, hour=9, minute=0)
    return {
        "schema": 1,
        "id": leave_id,
        "window": "A01",
        "start": start.isoformat(),
        "end": (start + dt.timedelta(hours=2)).isoformat(),
        "reason": "公出",
        "by": SUPERVISOR,
        "at": AT.isoformat(),
        **fields,
    }


def state(window: str = "C20", **fields: object) -> dict[str, object]:
    return {"schema": 1, "window": window, "state": "absent", "since": AT.isoformat(), "camera": "cam-c20", **fields}


MODELS: dict[str, type[IncidentEvent | Dismissal | LeaveGrant]] = {
    "incident": IncidentEvent,
    "dismissal": Dismissal,
    "leave": LeaveGrant,
}


def encoded(data: object) -> bytes:
    """JSON as a client sends it; ensure_ascii escapes NUL and lone surrogates (\\u0000, \\ud800), which raw
    UTF-8 cannot carry."""
    return json.dumps(data).encode()


def signed_as(key: SigningKey, kind: str, data: dict[str, object]) -> bytes:
    """`data` signed with `key`: a valid record is signed as the product signs it; an invalid one is signed over
    its raw content all the same, so that the contract, not the signature, is what must refuse it."""
    try:
        record = MODELS[kind].model_validate(data)
    except ValidationError:
        content = {k: v for k, v in data.items() if k != "signature" and v is not None}
        content.setdefault("signer", key.name)
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            message = DOMAIN + b"\n" + kind.encode() + b"\n" + canonical.encode()
        except UnicodeEncodeError:  # a lone surrogate: no signature can cover it
            return encoded(content)
        return encoded({**content, "signature": base64.b64encode(key.key.sign(message)).decode()})
    return key.sign(record).to_json()


def camera_key(config: MonitorConfig) -> SigningKey:
    assert config.paths.signing_key
    return read_key(Path(config.paths.signing_key))


# --- the target: a recorder behind the shipped ACL --------------------------------------------------------


class Target:
    """The running recorder, the attacker's two accounts, and a supervisor's account watching the answers."""

    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self.fatal: list[str] = []
        self._handled: list[tuple[str, Handled]] = []
        self._lock = threading.Lock()
        self.recorder = Recorder(
            config, open_database(config.database.url), on_handled=self._note, on_fatal=self.fatal.append
        )
        self.accounts: dict[str, acl.Session] = {}
        self.watcher: acl.Session  # a supervisor's account, subscribed to the rejections and receipts

    def _note(self, topic: str, handled: Handled) -> None:
        with self._lock:
            self._handled.append((topic, handled))

    def heard(self) -> list[tuple[str, Handled]]:
        """What the recorder made of each message it received, in order."""
        with self._lock:
            return list(self._handled)

    def send(self, account: str, topic: str, payload: bytes) -> None:
        self.accounts[account].publish(topic, payload)

    def wait(self, condition: Callable[[], object], what: str, timeout: float = SETTLE) -> float:
        """Seconds until `condition()` held; fails at once when the recorder stopped working."""
        start = time.monotonic()
        while True:
            assert not self.fatal, f"the recorder stopped working while waiting for {what}: {self.fatal}"
            if condition():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"not within {timeout:g}s: {what}")
            time.sleep(0.01)

    def answers(self, topic_prefix: str) -> list[tuple[str, bytes]]:
        return [(t, p) for t, p in list(self.watcher.messages) if t.startswith(topic_prefix)]

    def rejections(self) -> list[Rejection]:
        return [Rejection.from_json(p) for t, p in self.answers(T.rejected) if t == T.rejected]

    def receipts(self, kind: str, record_id: str) -> list[Receipt]:
        topic = T.receipt(kind, record_id)
        return [Receipt.from_json(p) for t, p in self.answers(topic) if t == topic]

    def count(self, table: type) -> int:
        with Session(self.recorder.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def dead_letters(self) -> list[tuple[str, str]]:
        with Session(self.recorder.engine) as session:
            return [(row.topic, row.reason) for row in session.exec(select(DeadLetterRow))]

    def assert_unbroken(self) -> None:
        """No thread died and the recorder still holds its session: it never needed a restart."""
        assert self.fatal == [], f"the recorder stopped working: {self.fatal}"
        alive = {t.name for t in threading.enumerate() if t.is_alive()}
        for name in ("recorder-lease", "recorder-inbox", "recorder-alerts", "recorder-watch"):
            assert name in alive, f"thread {name} is gone"
        assert self.recorder.ready.is_set(), "the recorder lost its subscriptions"


@pytest.fixture
def target(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    with ExitStack() as stack:
        broker = stack.enter_context(acl.production_broker(tmp_path / "broker"))
        monkeypatch.setenv(USER_ENV, "recorder")
        monkeypatch.setenv(PASSWORD_ENV, acl.PASSWORDS["recorder"])
        config, _ = hall_config(
            tmp_path,
            db_url=db_url,
            mqtt_url=broker.url,
            cameras=[CAMERA],
            mqtt={"topic_prefix": PREFIX, "username_env": USER_ENV, "password_env": PASSWORD_ENV},
        )
        target = Target(config)
        stack.callback(target.recorder.engine.dispose)
        target.watcher = stack.enter_context(acl.logged_in(broker, SUPERVISOR_ACCOUNT))
        for topic_filter in (T.rejected, f"{PREFIX}/receipts/#"):
            assert not target.watcher.subscribe(topic_filter).is_failure
        for account in (CAMERAS, SUPERVISOR_ACCOUNT):
            target.accounts[account] = stack.enter_context(acl.logged_in(broker, account))
        stack.callback(target.recorder.stop)
        assert target.recorder.start(), "the recorder did not subscribe through the shipped ACL"
        yield target


# --- the named cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    account: str
    topic: str
    payload: bytes
    status: Status | None
    """What the recorder must make of it; None: it never reaches the recorder (the ACL or its subscriptions)."""
    reason: str = ""
    """Words the refusal must contain."""


STRING_LIMITS: dict[str, dict[str, int]] = {
    "incident": {
        "id": 64,
        "kind": 32,
        "window": 16,
        "staff": 64,
        "source": 128,
        "note": 500,
        "correction": 500,
        "signer": 64,
        "signature": 128,
    },
    "dismissal": {"incident_id": 64, "reason": 500, "by": 64, "signer": 64, "signature": 128},
    "leave": {"id": 64, "window": 16, "reason": 500, "by": 64, "signer": 64, "signature": 128},
    "state": {"window": 16, "camera": 64},
}
"""Every string field of the records the recorder reads, and its limit (monitor/contract.py)."""

LONGEST_ID = "界" * 64
"""An incident id at its limit, in characters of three UTF-8 bytes."""


def at_limit_cases(key: SigningKey) -> list[Case]:
    """(d) Each string field at its limit (a valid record, unless admission or the signature refuses it), one past
    it, with a NUL and with a lone surrogate; the records signed over what they say."""
    cases: list[Case] = []
    at_limit: dict[tuple[str, str], tuple[Status, str]] = {
        ("incident", "id"): (Status.RECORDED, ""),
        ("incident", "kind"): (Status.REJECTED, "unknown incident kind"),
        ("incident", "window"): (Status.REJECTED, "unknown window"),
        ("incident", "staff"): (Status.RECORDED, ""),
        ("incident", "source"): (Status.REJECTED, "signs patrol findings as"),
        ("incident", "note"): (Status.RECORDED, ""),
        ("incident", "correction"): (Status.REJECTED, "a correction is for a month whose notice is issued"),
        ("incident", "signer"): (Status.REJECTED, "is not a configured signer"),
        ("incident", "signature"): (Status.REJECTED, "the signature is not"),
        ("dismissal", "incident_id"): (Status.DISMISSED, ""),  # the incident recorded with LONGEST_ID
        ("dismissal", "reason"): (Status.DISMISSED, ""),
        ("dismissal", "by"): (Status.REJECTED, "says by"),
        ("dismissal", "signer"): (Status.REJECTED, "is not a configured signer"),
        ("dismissal", "signature"): (Status.REJECTED, "the signature is not"),
        ("leave", "id"): (Status.RECORDED, ""),
        ("leave", "window"): (Status.REJECTED, "unknown window"),
        ("leave", "reason"): (Status.RECORDED, ""),
        ("leave", "by"): (Status.REJECTED, "says by"),
        ("leave", "signer"): (Status.REJECTED, "is not a configured signer"),
        ("leave", "signature"): (Status.REJECTED, "the signature is not"),
        ("state", "window"): (Status.REJECTED, "unknown window"),
        ("state", "camera"): (Status.RECORDED, ""),
    }
    letters = {"signature": "A", "window": "W", "kind": "k"}  # a signature is base64; windows are ids
    for kind, limits in STRING_LIMITS.items():
        for name, limit in limits.items():
            long = letters.get(name, "界") * limit
            values = {
                "at-limit": long,
                "past-limit": long + letters.get(name, "界"),
                "nul": "a\x00b",
                "surrogate": "a\ud800b",
            }
            for variant, value in values.items():
                status, reason = at_limit.get((kind, name), (Status.REJECTED, ""))
                if variant == "past-limit":
                    status, reason = Status.REJECTED, f"at most {limit} characters"
                elif variant == "nul":
                    status, reason = Status.REJECTED, "contains a NUL character"
                elif variant == "surrogate":
                    status, reason = Status.REJECTED, NOT_TEXT
                label = f"{kind}-{name}-{variant}"
                if kind == "state":
                    window = value if name == "window" else "C20"
                    since = AT + dt.timedelta(minutes=len(cases))  # each recorded state is a change of its own
                    payload = encoded({**state(since=since.isoformat()), name: value})
                    topic = T.window_state(window if variant == "at-limit" else "C20")
                    cases.append(Case(label, CAMERAS, topic, payload, status, reason))
                    continue
                if kind == "incident":
                    data = incident(label, **{name: value})
                elif kind == "dismissal":
                    subject = LONGEST_ID if name == "incident_id" else "incident-staff-at-limit"
                    data = {**dismissal(subject), name: value}
                else:
                    data = leave(label, **{name: value})
                if name in ("signer", "signature"):
                    signed = json.loads(signed_as(key, kind, {k: v for k, v in data.items() if k != name}))
                    payload = encoded({**signed, name: value})
                else:
                    payload = signed_as(key, kind, data)
                topic = {"incident": T.incidents, "dismissal": T.dismissals, "leave": T.leaves}[kind]
                cases.append(Case(label, SUPERVISOR_ACCOUNT, topic, payload, status, reason))
    return cases


def barrage(config: MonitorConfig) -> list[Case]:
    """Every named case, in the order sent (a record a later case refers to comes first)."""
    key, camera = supervisor_key(config), camera_key(config)
    cases: list[Case] = []

    def case(name: str, account: str, topic: str, payload: bytes, status: Status | None, reason: str = "") -> None:
        cases.append(Case(name, account, topic, payload, status, reason))

    def raw_signed(data: dict[str, object], old: str, new: str) -> bytes:
        """A signed record whose JSON text is changed (not its meaning): `old` replaced by `new`."""
        text = signed_as(key, "incident", data).decode()
        assert old in text, (old, text)
        return text.replace(old, new).encode()

    every_topic = [
        ("incidents", CAMERAS, T.incidents),
        ("incidents-supervisor", SUPERVISOR_ACCOUNT, T.incidents),
        ("dismissals", SUPERVISOR_ACCOUNT, T.dismissals),
        ("leaves", SUPERVISOR_ACCOUNT, T.leaves),
        ("window-state", CAMERAS, T.window_state("C20")),
    ]

    # (a) What used to kill the inbox thread: a dismissal whose incident id is one character too long.
    case(
        "dismissal-id-65",
        SUPERVISOR_ACCOUNT,
        T.dismissals,
        signed_as(key, "dismissal", dismissal("i" * 65)),
        Status.REJECTED,
        "at most 64 characters",
    )
    case(
        "dismissal-id-65-unsigned",
        SUPERVISOR_ACCOUNT,
        T.dismissals,
        encoded(dismissal("i" * 65)),
        Status.REJECTED,
        "at most 64 characters",
    )
    case(
        "dismissal-of-nothing",
        SUPERVISOR_ACCOUNT,
        T.dismissals,
        signed_as(key, "dismissal", dismissal("i" * 64)),
        Status.REJECTED,
        "is recorded",
    )

    # (b) A NUL in a JSON key (killed the recorder on PostgreSQL), lone surrogates in keys and values, on every
    # topic; and UTF-8 that encodes a surrogate (not UTF-8 at all).
    for where, account, topic in every_topic:
        case(f"nul-key-{where}", account, topic, b'{"schema":1,"\\u0000":1}', Status.REJECTED, "Extra inputs")
        case(f"surrogate-key-{where}", account, topic, b'{"schema":1,"\\ud800":1}', Status.REJECTED, NOT_TEXT)
        case(f"surrogate-value-{where}", account, topic, b'{"schema":"\\udfff"}', Status.REJECTED, "schema")
        case(
            f"cesu-bytes-{where}",
            account,
            topic,
            b'{"schema":1,"note":"\xed\xa0\x80"}',
            Status.REJECTED,
            "Field required",
        )
    for kind, field, record in (
        ("incident", "note", incident("surrogate-note")),
        ("dismissal", "reason", dismissal("surrogate")),
        ("leave", "reason", leave("surrogate-reason")),
    ):
        topic = {"incident": T.incidents, "dismissal": T.dismissals, "leave": T.leaves}[kind]
        for label, text, reason in (
            ("high", "\ud800", NOT_TEXT),
            ("low", "\udfff末", NOT_TEXT),
            ("nul", "\x00", "NUL"),
        ):
            case(
                f"escaped-{kind}-{field}-{label}",
                SUPERVISOR_ACCOUNT,
                topic,
                signed_as(key, kind, {**record, field: text}),
                Status.REJECTED,
                reason,
            )
        case(
            f"{kind}-surrogate-key",
            SUPERVISOR_ACCOUNT,
            topic,
            signed_as(key, kind, {**record, "\udc00": "x"}),
            Status.REJECTED,
            NOT_TEXT,
        )
    case(
        "state-camera-lone-surrogate",
        CAMERAS,
        T.window_state("C20"),
        encoded(state(camera="\ud800")),
        Status.REJECTED,
        NOT_TEXT,
    )

    # (c) Whatever bytes: binary, empty, over 64 KiB, nested deeply, numbers at and past the limits, wrong types.
    for where, account, topic in every_topic:
        case(f"binary-{where}", account, topic, bytes(range(256)) * 3, Status.REJECTED, "not JSON")
        case(f"empty-{where}", account, topic, b"", Status.REJECTED, "not JSON")
        huge = encoded({**incident("huge"), "note": "巨" * (MAX_PAYLOAD // 3)})
        case(f"huge-{where}", account, topic, huge, Status.REJECTED, f"more than {MAX_PAYLOAD}")
        case(f"brackets-{where}", account, topic, b"[" * 60_000, Status.REJECTED, "nested too deeply")
        nested = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
        case(f"objects-{where}", account, topic, nested, Status.REJECTED, "nested too deeply")
        case(f"digits-{where}", account, topic, b'{"schema":' + b"9" * 5000 + b"}", Status.REJECTED, "digits")
        case(f"schema-1e400-{where}", account, topic, b'{"schema":1e400}', Status.REJECTED, "schema")
        case(f"schema-minus-zero-{where}", account, topic, b'{"schema":-0}', Status.REJECTED, "version 0")
        case(f"schema-text-{where}", account, topic, b'{"schema":"1"}', Status.REJECTED, "valid integer")
        case(f"schema-2-{where}", account, topic, b'{"schema":2}', Status.REJECTED, "version 2 is not supported")
        case(f"no-schema-{where}", account, topic, b"{}", Status.REJECTED, "no schema version")
        for shape in (b"[]", b'"x"', b"null", b"1", b"true", b"NaN"):
            case(f"shape-{shape.decode()}-{where}", account, topic, shape, Status.REJECTED, "not a JSON object")
    numbers: list[tuple[str, bytes, Status | None, str]] = [
        ("seq-max", signed_as(key, "incident", incident("seq-max", event="update", seq=MAX_SEQ)), Status.RECORDED, ""),
        (
            "seq-2**31",
            signed_as(key, "incident", incident("seq-2**31", seq=MAX_SEQ + 1)),
            Status.REJECTED,
            "2147483647",
        ),
        ("seq-minus-1", signed_as(key, "incident", incident("seq-minus-1", seq=-1)), Status.REJECTED, "greater than"),
        ("seq-10**100", signed_as(key, "incident", incident("seq-big", seq=10**100)), Status.REJECTED, "less than"),
        ("seq-1e400", raw_signed(incident("seq-1e400"), '"seq":0', '"seq":1e400'), Status.REJECTED, "seq"),
        ("seq-minus-0", raw_signed(incident("seq-minus-0"), '"seq":0', '"seq":-0'), Status.RECORDED, ""),
        ("minutes-max", signed_as(key, "incident", incident("minutes-max", minutes=MAX_MINUTES)), Status.RECORDED, ""),
        (
            "minutes-past-max",
            signed_as(key, "incident", incident("minutes-past", minutes=MAX_MINUTES + 1)),
            Status.REJECTED,
            f"less than or equal to {MAX_MINUTES}",
        ),
        (
            "minutes-nan",
            raw_signed(incident("minutes-nan"), '"minutes":12', '"minutes":NaN'),
            Status.REJECTED,
            "finite",
        ),
        (
            "minutes-minus-10**100",
            raw_signed(incident("minutes-neg"), '"minutes":12', f'"minutes":-{10**100}'),
            Status.REJECTED,
            "minutes",
        ),
        ("id-int", signed_as(key, "incident", incident(5)), Status.REJECTED, "valid string"),  # type: ignore[arg-type]
        ("evidence-text", signed_as(key, "incident", incident("ev-text", evidence="a.jpg")), Status.REJECTED, "list"),
        ("digests-list", signed_as(key, "incident", incident("dg-list", digests=[])), Status.REJECTED, "dictionary"),
        ("event-begin", signed_as(key, "incident", incident("begin", event="begin")), Status.REJECTED, "event"),
        (
            "started-text",
            signed_as(key, "incident", incident("t", started_at="yesterday")),
            Status.REJECTED,
            "started_at",
        ),
        (
            "started-naive",
            signed_as(key, "incident", incident("naive", started_at="2020-11-04T09:12:00")),
            Status.REJECTED,
            "timezone",
        ),
        (
            "started-1999",
            signed_as(key, "incident", incident("y1999", started_at="2000-01-01T07:59:59+08:00")),
            Status.REJECTED,
            "outside 2000–2099",
        ),
        (
            "started-2100",
            signed_as(key, "incident", incident("y2100", started_at="2099-12-31T23:59:59-12:00")),
            Status.REJECTED,
            "outside 2000–2099",
        ),
        (
            "started-2100-in-the-hall",
            signed_as(key, "incident", incident("h2100", started_at="2099-12-31T20:00:00-03:00")),
            Status.REJECTED,
            "lies in the future",
        ),
        (
            "started-2000-01-01",
            signed_as(key, "incident", incident("y2000", started_at="2000-01-01T00:00:00+00:00")),
            Status.REJECTED,
            "",
        ),
        (
            "ended-before-started",
            signed_as(key, "incident", incident("backwards", event="end", ended_at="2020-11-04T09:00:00+08:00")),
            Status.REJECTED,
            "is before started_at",
        ),
    ]
    for name, payload, status, reason in numbers:
        case(name, SUPERVISOR_ACCOUNT, T.incidents, payload, status, reason)

    # (d) Valid signed records mutated field by field.
    cases.extend(at_limit_cases(key))
    case(
        "evidence-16-names-at-limit",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", incident("ev-16", evidence=[f"{n:02d}" + "名" * 78 for n in range(16)])),
        Status.RECORDED,
    )
    case(
        "evidence-17-names",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", incident("ev-17", evidence=[f"{n}.jpg" for n in range(17)])),
        Status.REJECTED,
        "at most 16 items",
    )
    case(
        "evidence-name-81",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", incident("ev-81", evidence=["名" * 81])),
        Status.REJECTED,
        "at most 80 characters",
    )
    case(
        "digest-not-hex",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", incident("dg-hex", digests={"a.jpg": "z" * 64})),
        Status.REJECTED,
        "pattern",
    )
    note = incident("incident-note-at-limit", note="界" * 500)
    case(
        "duplicate",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", note),
        Status.DUPLICATE,
    )
    case(
        "conflict",
        SUPERVISOR_ACCOUNT,
        T.incidents,
        signed_as(key, "incident", {**note, "note": "改"}),
        Status.CONFLICT,
        "recorded with other content",
    )
    case(
        "dismissal-again",
        SUPERVISOR_ACCOUNT,
        T.dismissals,
        signed_as(key, "dismissal", dismissal(LONGEST_ID)),
        Status.DUPLICATE,
    )
    case(
        "dismissal-other-reason",
        SUPERVISOR_ACCOUNT,
        T.dismissals,
        signed_as(key, "dismissal", dismissal(LONGEST_ID, reason="另一理由")),
        Status.CONFLICT,
        "another decision",
    )
    grant = leave("界" * 64)  # as leave-id-at-limit recorded it
    case("leave-again", SUPERVISOR_ACCOUNT, T.leaves, signed_as(key, "leave", grant), Status.DUPLICATE)
    case(
        "leave-other-reason",
        SUPERVISOR_ACCOUNT,
        T.leaves,
        signed_as(key, "leave", {**grant, "reason": "请假"}),
        Status.CONFLICT,
        "another window, time or reason",
    )
    case(
        "leave-backwards",
        SUPERVISOR_ACCOUNT,
        T.leaves,
        signed_as(key, "leave", leave("backwards", end=AT.replace(day=6, hour=8).isoformat())),
        Status.REJECTED,
        "ends before it starts",
    )
    case(
        "leave-unsigned",
        SUPERVISOR_ACCOUNT,
        T.leaves,
        encoded(leave("unsigned")),
        Status.REJECTED,
        "not signed",
    )

    # (e) Evidence: of a camera's incident announcing two names (one with its digest), then everything wrong.
    announced = "名" * 80
    seen = camera.sign(
        IncidentEvent.model_validate(
            incident(
                "cam-ev",
                kind="empty_post",
                minutes=5,
                source="camera:cam-c20",
                evidence=["a.jpg", announced],
                digests={"a.jpg": hashlib.sha256(JPEG).hexdigest()},
            )
        )
    )
    case("camera-incident", CAMERAS, T.incidents, seen.to_json(), Status.RECORDED)
    evidence: list[tuple[str, str, bytes, Status | None, str]] = [
        ("evidence", T.evidence("cam-ev", "a.jpg"), JPEG, Status.RECORDED, ""),
        ("evidence-again", T.evidence("cam-ev", "a.jpg"), JPEG, Status.DUPLICATE, ""),
        ("evidence-digest", T.evidence("cam-ev", "a.jpg"), OTHER_JPEG, Status.REJECTED, "does not match the digest"),
        ("evidence-name-80", T.evidence("cam-ev", announced), JPEG, Status.RECORDED, ""),
        ("evidence-name-80-other", T.evidence("cam-ev", announced), OTHER_JPEG, Status.CONFLICT, ""),
        (
            "evidence-topic-name-81",
            T.evidence("cam-ev", announced + "名"),
            JPEG,
            Status.REJECTED,
            "evidence topic must be",
        ),
        ("evidence-unannounced", T.evidence("cam-ev", "b.jpg"), JPEG, Status.REJECTED, "is not announced"),
        ("evidence-id-65", T.evidence("e" * 65, "a.jpg"), JPEG, Status.REJECTED, "evidence topic must be"),
        ("evidence-id-10000", T.evidence("e" * 10_000, "a.jpg"), JPEG, Status.REJECTED, "evidence topic must be"),
        ("evidence-of-nothing", T.evidence("nothing", "a.jpg"), JPEG, Status.REJECTED, "not a recorded incident"),
        ("evidence-unicode-id", T.evidence("事件", "照片.jpg"), JPEG, Status.REJECTED, "not a recorded incident"),
        ("evidence-gif", T.evidence("cam-ev", "a.jpg"), b"GIF89a\x01\x00", Status.REJECTED, "neither a JPEG"),
        ("evidence-empty", T.evidence("cam-ev", "a.jpg"), b"", Status.REJECTED, "neither a JPEG"),
        ("evidence-jpeg-as-clip", T.evidence("cam-ev", "a.mp4"), JPEG, Status.REJECTED, "neither a JPEG"),
        ("evidence-short-clip", T.evidence("cam-ev", "a.mp4"), b"\x00\x00\x00", Status.REJECTED, "neither a JPEG"),
        (
            "evidence-oversized",
            T.evidence("cam-ev", "a.jpg"),
            JPEG + bytes(config.evidence.max_bytes),
            Status.REJECTED,
            "max_bytes",
        ),
        (
            "evidence-json",
            T.evidence("cam-ev", "a.jpg"),
            b'{"schema":1,"\\u0000":1}',
            Status.REJECTED,
            "neither a JPEG",
        ),
        (
            "evidence-surrogates",
            T.evidence("cam-ev", "a.jpg"),
            b'{"\\ud800":"\\udfff"}',
            Status.REJECTED,
            "neither a JPEG",
        ),
        # Topics it does not handle: those its subscriptions match are refused, the others never reach it.
        ("evidence-no-id", f"{PREFIX}/evidence//a.jpg", JPEG, Status.REJECTED, "no handler"),
        ("evidence-no-name", f"{PREFIX}/evidence/cam-ev/", JPEG, Status.REJECTED, "no handler"),
        ("evidence-deeper", f"{PREFIX}/evidence/cam-ev/a/b.jpg", JPEG, None, ""),
        ("evidence-shallow", f"{PREFIX}/evidence/cam-ev", JPEG, None, ""),
    ]
    for name, topic, payload, status, reason in evidence:
        case(name, CAMERAS, topic, payload, status, reason)
    case("evidence-by-a-supervisor", SUPERVISOR_ACCOUNT, T.evidence("cam-ev", "c.jpg"), JPEG, None)  # the ACL

    # Window states.
    states: list[tuple[str, str, bytes, Status | None, str]] = [
        ("state", T.window_state("C20"), encoded(state()), Status.RECORDED, ""),
        ("state-again", T.window_state("C20"), encoded(state()), Status.DUPLICATE, ""),
        ("state-mismatch", T.window_state("C20"), encoded(state("C21")), Status.REJECTED, "on the topic of window"),
        ("state-unknown-window", T.window_state("Z99"), encoded(state("Z99")), Status.REJECTED, "unknown window"),
        ("state-nul-camera", T.window_state("C20"), encoded(state(camera="cam\x00")), Status.REJECTED, "NUL"),
        (
            "state-since-1999",
            T.window_state("C20"),
            encoded(state(since="1999-12-31T23:59:59+00:00")),
            Status.REJECTED,
            "outside 2000–2099",
        ),
        (
            "state-since-2100",
            T.window_state("C20"),
            encoded(state(since="2100-01-01T00:00:00+00:00")),
            Status.REJECTED,
            "outside 2000–2099",
        ),
        (
            "state-since-2000",
            T.window_state("C20"),
            encoded(state(since="2000-01-01T00:00:00+00:00")),
            Status.RECORDED,
            "",
        ),
        ("state-asleep", T.window_state("C20"), encoded(state(state="asleep")), Status.REJECTED, "state"),
        ("state-no-window", f"{PREFIX}/windows//state", encoded(state()), Status.REJECTED, "no handler"),
        ("state-leaves", T.window_leaves("C20"), encoded(state()), None, ""),  # the ACL: the recorder's own
        ("camera-status", T.camera_status("cam-c20"), b"\x00\xff", None, ""),  # not the recorder's
        ("availability", T.availability("camera-x"), b"\x00\xff", None, ""),
    ]
    for name, topic, payload, status, reason in states:
        case(name, CAMERAS, topic, payload, status, reason)
    case("state-by-a-supervisor", SUPERVISOR_ACCOUNT, T.window_state("C20"), encoded(state()), None)  # the ACL
    case(
        "dismissal-by-a-camera",
        CAMERAS,
        T.dismissals,
        signed_as(key, "dismissal", dismissal("cam-ev")),
        None,
    )
    return cases


def test_named_attacks_on_every_topic_leave_the_recorder_recording(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitor")
    config, key = target.config, supervisor_key(target.config)
    cases = barrage(config)
    assert len({c.name for c in cases}) == len(cases), "case names are unique"
    for c in cases:
        target.send(c.account, c.topic, c.payload)

    # Right behind the barrage: a patrol finding, a leave and the finding's dismissal, each recorded within
    # seconds of being sent, with the receipt that says so.
    finals: list[tuple[str, bytes, tuple[str, str], Status, Callable[[Session], object]]] = [
        (
            T.incidents,
            key.sign(IncidentEvent.model_validate(incident("final", window="C21"))).to_json(),
            ("incident", "final"),
            Status.RECORDED,
            lambda s: s.get(IncidentRow, "final"),
        ),
        (
            T.leaves,
            key.sign(LeaveGrant.model_validate(leave("final-leave", window="A02"))).to_json(),
            ("leave", "final-leave"),
            Status.RECORDED,
            lambda s: s.get(LeaveRow, "final-leave"),
        ),
        (
            T.dismissals,
            key.sign(Dismissal.model_validate(dismissal("final"))).to_json(),
            ("dismissal", "final"),
            Status.DISMISSED,
            lambda s: s.exec(select(DismissalRow).where(DismissalRow.incident_id == "final")).first(),
        ),
    ]
    sent_at = time.monotonic()
    for topic, payload, *_ in finals:
        target.send(SUPERVISOR_ACCOUNT, topic, payload)
    for _, _, (kind, record_id), status, stored in finals:

        def recorded(stored: Callable[[Session], object] = stored) -> bool:
            with Session(target.recorder.engine) as session:
                return stored(session) is not None

        target.wait(recorded, f"the valid {kind} {record_id} sent after the barrage, recorded")
        target.wait(partial(target.receipts, kind, record_id), f"the receipt for {kind} {record_id}")
        assert [r.status for r in target.receipts(kind, record_id)] == [status]
    assert time.monotonic() - sent_at < SETTLE

    # What the recorder made of each message, in the order sent; nothing the ACL or its subscriptions keep from it.
    expected = [c for c in cases if c.status is not None]
    target.wait(lambda: len(target.heard()) >= len(expected) + len(finals), "every message answered")
    heard = target.heard()
    assert [t for t, _ in heard[len(expected) :]] == [topic for topic, *_ in finals], "only these reached it"
    wrong = [
        f"{c.name}: {h.status} ({h.detail[:300]!r}), not {c.status} ({c.reason!r})"
        for c, (topic, h) in zip(expected, heard, strict=False)
        if topic != c.topic or h.status != c.status or c.reason not in h.detail
    ]
    assert wrong == [], "\n".join(wrong)
    quarantined = [f"{t}: {h.detail}" for t, h in heard if h.detail.startswith(QUARANTINE)]
    assert quarantined == [], "messages the recorder failed on instead of refusing:\n" + "\n".join(quarantined)

    # Each refused one: a dead letter and a rejection, with the same topic and reason.
    refused = sorted((storable(t, 1000), storable(h.detail, 4000)) for t, h in heard if h.status in REFUSED)
    assert refused, "the barrage has refusals"
    target.wait(lambda: len(target.rejections()) >= len(refused), f"{len(refused)} rejections published")
    letters = target.dead_letters()
    assert sorted(letters) == refused
    assert sorted((r.topic, r.reason) for r in target.rejections()) == refused
    # Every receipt owed was sent: one per supervisor's record that parsed.
    for _topic, handled in heard:
        if handled.receipt is not None:
            kind, record_id = handled.receipt
            target.wait(partial(target.receipts, kind, record_id), f"the receipt for {kind} {record_id}")
    with Session(target.recorder.engine) as session:
        assert session.get(IncidentRow, LONGEST_ID) is not None
        assert len(session.exec(select(EvidenceRow)).all()) == 2
        assert session.exec(select(func.count()).select_from(WindowStateRow)).one() >= 3
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("monitor")]
    assert errors == [], errors
    target.assert_unbroken()


# --- generated attacks -------------------------------------------------------------------------------------


ANY_TEXT = st.text(
    alphabet=st.characters(exclude_categories=()) | st.characters(categories=["Cs"]) | st.sampled_from("\x00\ud800"),
    max_size=80,
)
"""Any text: NUL, lone surrogates, every other code point."""
LEVEL = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc", "Cn"), exclude_characters="/+#"), max_size=90)
"""A topic level a broker delivers (MQTT forbids NUL and surrogates; Mosquitto also control characters and
non-characters; `/`, `+`, `#` would change the topic's shape)."""
SPECIAL_NUMBERS = [MAX_SEQ, MAX_SEQ + 1, MAX_MINUTES, MAX_MINUTES + 1, -1, 0, -0.0, 10**100, -(10**100), 1e308]
SPECIAL_TEXT = [
    "",
    "\x00",
    "a\ud800b",
    "\udfff",
    "界" * 16,
    "界" * 17,
    "界" * 64,
    "界" * 65,
    "𠀀" * 80,
    "界" * 500,
    "界" * 501,
    "2000-01-01T00:00:00+00:00",
    "1999-12-31T23:59:59+00:00",
    "2100-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "2020-11-05T09:12:00",
    "2020-02-30T09:12:00+08:00",
    f"patrol:{SUPERVISOR}",
    "camera:cam-c20",
    "C21",
    "late_arrival",
    "end",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.sampled_from(SPECIAL_TEXT)
)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12
)


@dataclass(frozen=True)
class Hostile:
    account: str
    topic: str
    payload: bytes


def _records(config: MonitorConfig) -> dict[str, dict[str, object]]:
    """A valid, signed record of each kind the recorder reads (a window state is unsigned)."""
    key = supervisor_key(config)
    return {
        "incident": json.loads(
            signed_as(key, "incident", incident("mutant", started_at=AT.replace(day=5).isoformat()))
        ),
        "dismissal": json.loads(signed_as(key, "dismissal", dismissal("mutant"))),
        "leave": json.loads(signed_as(key, "leave", leave("mutant"))),
        "state": state(since=AT.replace(day=5).isoformat()),
    }


def mutated(config: MonitorConfig, kind: str) -> st.SearchStrategy[bytes]:
    """A valid record under one of a few ids (so that some are recorded, some repeated, some in conflict), with one
    field set to anything, to a value at or past its limit, or removed, or a field added; then sent as it is (its
    signature no longer fits) or signed over what it now says."""
    key = supervisor_key(config)
    record = _records(config)[kind]
    limits = STRING_LIMITS[kind]
    id_field = {"incident": "id", "dismissal": "incident_id", "leave": "id"}.get(kind)
    ids = [f"mutant-{n}" for n in range(4)] + (["valid-0", "valid-1"] if kind == "dismissal" else [])

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = dict(record)
        if id_field is not None:
            data[id_field] = draw(st.sampled_from(ids))
        name = draw(st.sampled_from([*sorted(record), "extra", "\x00", "\ud800"]))
        action = draw(st.sampled_from(["anything", "special", "limit", "drop", "none"]))
        if action == "none":  # as it was, under the id drawn: signed anew below or not at all
            pass
        elif action == "drop":
            data.pop(name, None)
        elif action == "limit" and name in limits:
            letter, limit = {"signature": "A", "window": "W", "kind": "k"}.get(name, "界"), limits[name]
            data[name] = draw(st.sampled_from([letter * limit, letter * (limit + 1), "𠀀" * limit, "a\x00", "a\ud800"]))
        elif action == "anything":
            data[name] = draw(JSON_VALUES)
        else:
            data[name] = draw(st.sampled_from(SPECIAL_TEXT + SPECIAL_NUMBERS))
        if kind != "state" and name not in ("signer", "signature") and (action == "none" or draw(st.booleans())):
            data.pop("signature", None)
            return signed_as(key, kind, data)
        return encoded(data)

    return build()


def hostile(config: MonitorConfig) -> st.SearchStrategy[Hostile]:
    """A message the ACL lets an account send to a topic the recorder reads, of any content."""
    anything = st.one_of(
        st.binary(max_size=300),
        JSON_VALUES.map(encoded),
        st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4).map(lambda d: encoded({"schema": 1, **d})),
    )
    jpeg = st.binary(max_size=200).map(lambda b: JPEG[:3] + b)
    evidence_ids = st.sampled_from(["cam-ev", "mutant", "valid-0", "e" * 64, "e" * 65]) | LEVEL
    evidence_names = st.sampled_from(["a.jpg", "名" * 80, "名" * 81]) | LEVEL
    windows = st.sampled_from(["C20", "C21", "Z99", "W" * 16]) | LEVEL
    return st.one_of(
        st.builds(
            Hostile,
            st.sampled_from([CAMERAS, SUPERVISOR_ACCOUNT]),
            st.just(T.incidents),
            anything | mutated(config, "incident"),
        ),
        st.builds(Hostile, st.just(SUPERVISOR_ACCOUNT), st.just(T.dismissals), anything | mutated(config, "dismissal")),
        st.builds(Hostile, st.just(SUPERVISOR_ACCOUNT), st.just(T.leaves), anything | mutated(config, "leave")),
        st.builds(Hostile, st.just(CAMERAS), windows.map(T.window_state), anything | mutated(config, "state")),
        st.builds(Hostile, st.just(CAMERAS), st.builds(T.evidence, evidence_ids, evidence_names), jpeg | anything),
    )


def direct(config: MonitorConfig) -> st.SearchStrategy[tuple[str, bytes]]:
    """What a recorder may receive from any broker, handed to it without one: the generated messages, and any
    topic a broker could deliver (MQTT forbids NUL and lone surrogates in topics; some brokers pass control
    characters)."""
    topic_text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00+#"), max_size=120)
    topics = st.one_of(
        topic_text,
        topic_text.map(lambda t: f"{PREFIX}/{t}"),
        st.tuples(topic_text, topic_text).map(lambda p: T.evidence(*p)),
        topic_text.map(T.window_state),
    )
    payloads = st.binary(max_size=300) | JSON_VALUES.map(encoded) | st.binary(max_size=50).map(lambda b: JPEG[:3] + b)
    return hostile(config).map(lambda h: (h.topic, h.payload)) | st.tuples(topics, payloads)


def test_generated_attacks_on_every_topic_leave_the_recorder_recording(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """Property: whatever comes before it, through the broker or handed over directly, a valid signed finding is
    recorded at once, and what came before it is recorded or refused with a reason — never a failure."""
    caplog.set_level(logging.WARNING, logger="monitor")
    config, key = target.config, supervisor_key(target.config)
    serial = iter(range(10**6))
    refused_direct = 0

    def follow_up() -> tuple[str, bytes]:
        record_id = f"valid-{next(serial)}"
        event = IncidentEvent.model_validate(incident(record_id, started_at=AT.replace(day=5).isoformat()))
        return record_id, key.sign(event).to_json()

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(hostile(config))
    def through_the_broker(message: Hostile) -> None:
        record_id, follow = follow_up()
        before = len(target.heard())
        target.send(message.account, message.topic, message.payload)
        target.send(SUPERVISOR_ACCOUNT, T.incidents, follow)
        target.wait(lambda: len(target.heard()) >= before + 2, f"{record_id} after a message on {message.topic!r}")
        (topic, handled), (_, after) = target.heard()[before : before + 2]
        assert topic == message.topic
        assert not handled.detail.startswith(QUARANTINE), handled.detail
        assert after.receipt == ("incident", record_id) and after.status is Status.RECORDED, after.detail

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(direct(config))
    def handed_over(message: tuple[str, bytes]) -> None:
        nonlocal refused_direct
        _, follow = follow_up()
        results = target.recorder.apply([message, (T.incidents, follow)])
        assert results is not None
        handled, after = results
        assert not handled.detail.startswith(QUARANTINE), handled.detail
        assert after.status is Status.RECORDED, after.detail
        refused_direct += handled.status in REFUSED

    through_the_broker()
    handed_over()
    refused_broker = sum(h.status in REFUSED for _, h in target.heard())
    target.wait(lambda: len(target.rejections()) >= refused_broker, f"{refused_broker} rejections published")
    assert len(target.rejections()) == refused_broker
    assert target.count(DeadLetterRow) == refused_broker + refused_direct
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("monitor")]
    assert errors == [], errors
    target.assert_unbroken()


# --- what a valid signed record may hold --------------------------------------------------------------------


def test_a_record_whose_id_holds_topic_wildcards_is_answered_or_refused(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """A receipt's topic holds its record's id (<prefix>/receipts/<kind>/<id>): an id with `/`, `+` or `#`
    would make a topic no client can publish. Whatever the contract allows must be answered like any other
    record — or refused, with its dead letter and rejection (the contract refuses such ids)."""
    caplog.set_level(logging.WARNING, logger="monitor")
    key = supervisor_key(target.config)
    seen = signed_as(
        camera_key(target.config), "incident", incident("cam/#", kind="empty_post", source="camera:cam-c20")
    )
    sent = [
        (CAMERAS, T.incidents, seen),  # a camera key's incident: no receipt (the camera waits for none)
        (SUPERVISOR_ACCOUNT, T.incidents, signed_as(key, "incident", incident("patrol+1"))),
        (SUPERVISOR_ACCOUNT, T.dismissals, signed_as(key, "dismissal", dismissal("cam/#"))),
        (SUPERVISOR_ACCOUNT, T.leaves, signed_as(key, "leave", leave("leave#1"))),
    ]
    for account, topic, payload in sent:
        target.send(account, topic, payload)
    target.wait(lambda: len(target.heard()) == len(sent), "the records applied")
    for _topic, handled in target.heard():
        if handled.status in REFUSED and handled.receipt is None:
            continue  # refused by the contract: its dead letter is checked below
        if handled.receipt is not None:
            kind, record_id = handled.receipt
            target.wait(partial(target.receipts, kind, record_id), f"the receipt for {kind} {record_id!r}")
            assert [r.status for r in target.receipts(kind, record_id)] == [handled.status]
    refused = [h for _, h in target.heard() if h.status in REFUSED]
    target.wait(lambda: len(target.rejections()) >= len(refused), "the rejections")
    assert target.count(DeadLetterRow) == len(refused) == len(target.rejections())
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("monitor")]
    assert errors == [], errors
    target.assert_unbroken()


def test_the_leave_list_a_window_is_sent_stays_readable_however_much_leave_it_has(target: Target) -> None:
    """The recorder publishes each window's leave not yet ended (up to MAX_LEAVES) for the camera services, which
    read it with WindowLeaves.from_json: a list over MAX_PAYLOAD is refused whole, and the cameras then know none
    of that window's leave. 40 valid signed leaves of one window, ids and reasons at their limits, must leave a
    list they can read, the earliest leave first."""
    key = supervisor_key(target.config)
    assert not target.watcher.subscribe(T.window_leaves("+")).is_failure
    start = dt.datetime(2099, 1, 1, 9, tzinfo=TZ)  # not ended, whenever the test runs
    grants = [
        leave(
            f"{n:02d}" + "界" * 62,
            start=(start + dt.timedelta(days=n)).isoformat(),
            end=(start + dt.timedelta(days=n, hours=1)).isoformat(),
            reason="界" * 500,
        )
        for n in range(40)
    ]
    for grant in grants:
        target.send(SUPERVISOR_ACCOUNT, T.leaves, signed_as(key, "leave", grant))
    target.wait(lambda: len(target.heard()) == len(grants), "the leave applied")
    recorded = [h.receipt[1] for _, h in target.heard() if h.status is Status.RECORDED and h.receipt]
    assert recorded, "the leave is valid"
    # The list goes out before the receipts of its batch: once the last receipt is in, so is the last list.
    target.wait(lambda: target.receipts("leave", recorded[-1]), "the last leave's receipt")
    lists = target.answers(T.window_leaves("A01"))
    assert lists, "no leave list for A01"
    _, payload = lists[-1]
    listed = WindowLeaves.from_json(payload)  # as monitor/services/camera.py reads it
    assert listed.leaves and listed.leaves[0].id == recorded[0]
    target.assert_unbroken()
