"""The MQTT contract: topics and JSON payloads (schema version 1). docs/mqtt.md documents it.

Every process speaks only through these models, so a worker, the recorder and the scheduler can
run on different machines and be upgraded one at a time: a payload carries its `schema` version
and a receiver refuses a version it does not know rather than guess.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
MAX_PAYLOAD = 64 * 1024
"""Bytes: a JSON payload longer than this is refused unread (an incident is a few hundred bytes)."""
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
"""Times outside [EARLIEST, LATEST) are refused: no hall record lies there, and arithmetic near
year 1 or 9999 overflows."""
MAX_SEQ = 2**31 - 1
MAX_MINUTES = 366 * 24 * 60
MAX_LEAVES = 64
"""Most leaves in one window's list (a window with more current and future leave lists the earliest)."""


def _plausible(moment: dt.datetime) -> dt.datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return moment


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise ValueError("contains a lone surrogate (not text a database can store)")
    return text


def _topic_level(text: str) -> str:
    if any(c in text for c in "/+#"):
        raise ValueError("may not contain / + or # (it names an MQTT topic level)")
    return text


TopicLevel = AfterValidator(_topic_level)
"""For ids that become a level of a topic (<prefix>/receipts/<kind>/<id>, <prefix>/evidence/<id>/<name>)."""

# Strings are bounded by the columns that store them, and never hold NUL or a lone surrogate (PostgreSQL
# refuses both).
NoNul = AfterValidator(_no_nul)
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul, TopicLevel]
Name = Annotated[str, StringConstraints(max_length=64), NoNul]
KindName = Annotated[str, StringConstraints(min_length=1, max_length=32), NoNul]
WindowId = Annotated[str, StringConstraints(min_length=1, max_length=16), NoNul, TopicLevel]
Source = Annotated[str, StringConstraints(max_length=128), NoNul]
Note = Annotated[str, StringConstraints(max_length=500), NoNul]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul]
EvidenceName = Annotated[str, StringConstraints(min_length=1, max_length=80), NoNul, TopicLevel]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Signature = Annotated[str, StringConstraints(max_length=128), NoNul]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]

Lifecycle = Literal["new", "update", "end"]
PresenceState = Literal["present", "absent", "unknown", "off_duty", "leave"]
LeaveKind = Literal["请假", "公出"]
"""What an approved leave is: 请假 (personal leave) or 公出 (away on official business)."""
LEAVE_KINDS: tuple[LeaveKind, ...] = ("请假", "公出")
LeaveAction = Literal["withdraw", "change"]
"""What a supervisor does to approved leave after granting it (LeaveChange)."""


def leave_kind_of(reason: str) -> LeaveKind:
    """The kind of a grant sent before leave had a kind, which folded it into its reason ("公出：市局培训"):
    公出 when the reason starts with it, else 请假."""
    return "公出" if reason.startswith("公出") else "请假"


def leave_why(kind: str, reason: str) -> str:
    """A leave's reason without the kind an older grant folded into it ("公出：市局培训" -> "市局培训"), for
    showing next to the kind; the reason itself when it is only the kind or does not start with it."""
    for separator in ("：", ":"):
        if reason.startswith(kind + separator) and (rest := reason[len(kind) + 1 :].strip()):
            return rest
    return reason


class ContractError(ValueError):
    """A payload that does not follow the contract; the message says what is wrong."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Annotated[StrictInt, Field(alias="schema", description="Payload schema version.")] = SCHEMA_VERSION

    @field_validator("schema_")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema version {value} is not supported (this recorder speaks {SCHEMA_VERSION})")
        return value

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        """Parse and validate; a ContractError names the field at fault."""
        if len(raw) > MAX_PAYLOAD:
            raise ContractError(f"payload of {len(raw)} bytes: more than {MAX_PAYLOAD}")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractError(f"not JSON: {exc}") from None
        except RecursionError:
            raise ContractError("not JSON this recorder reads: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of thousands of digits
            raise ContractError(f"not JSON this recorder reads: {exc}") from None
        if not isinstance(data, dict):
            raise ContractError("not a JSON object")
        if "schema" not in data:
            raise ContractError("no schema version (field 'schema')")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise ContractError(problems) from None


class IncidentEvent(Payload):
    """One lifecycle event of an incident, published on <prefix>/incidents.

    Each event repeats the whole incident, so any one of them is enough to record it; the
    recorder is idempotent on (id, event, seq). It is signed by its source (monitor.core.signature).
    """

    id: Id = Field(description="Stable incident id (the same for every event).")
    event: Lifecycle = Field(description="new when established, update while it lasts, end when it is over.")
    seq: int = Field(0, ge=0, le=MAX_SEQ, description="Order of this event within the incident (new = 0).")
    kind: KindName = Field(description="late_arrival, empty_post, early_leave, or a configured kind.")
    window: WindowId = Field(description="Window id, e.g. C25.")
    started_at: Moment = Field(description="Arrival (late_arrival), or when the post became empty.")
    ended_at: Moment | None = Field(None, description="When it ended (end events).")
    minutes: int | None = Field(
        None, ge=0, le=MAX_MINUTES, description="Minutes late, or minutes the post has been empty."
    )
    staff: Name | None = Field(None, description="The person, when the source knows better than the roster.")
    source: Source = Field("", description="Who found it: camera:<id> or patrol:<user>.")
    note: Note = Field("", description="Free text from the source.")
    evidence: list[EvidenceName] = Field(
        default_factory=list, max_length=16, description="Evidence names sent on the evidence topic."
    )
    digests: dict[EvidenceName, Sha256] = Field(
        default_factory=dict, max_length=16, description="sha256 (hex) of each evidence image, by name."
    )
    correction: Reason | None = Field(
        None,
        description="A supervisor's finding for a month whose notice is issued: why it comes late. The notices "
        "show it as a correction.",
    )
    sent_at: Moment | None = Field(None, description="When the source published it.")
    signer: Name = Field("", description="Who signed it: a camera service or a supervisor ([[signers]]).")
    signature: Signature | None = Field(None, description="Ed25519 signature, base64 (monitor.core.signature).")


class Dismissal(Payload):
    """A supervisor withdraws an incident (appeal upheld, leave approved); on <prefix>/dismissals.

    `id` tells one decision from another: an incident dismissed, reinstated (Reinstatement) and dismissed again
    has two dismissals, and a replay of the first must not dismiss it again. A dismissal without one (sent before
    dismissals had ids) is the incident's standing dismissal when it says the same (a replay), or a new decision."""

    id: Id | None = Field(None, description="Stable id of this decision (dismissal-<hex>); absent in older ones.")
    incident_id: Id = Field(description="The incident withdrawn.")
    reason: Reason = Field(description="Why; kept in the audit trail.")
    by: Name = Field("", description="Who decided: the signer.")
    at: Moment = Field(description="When it was decided.")
    signer: Name = Field("", description="Who signed it ([[signers]]).")
    signature: Signature | None = Field(None, description="Ed25519 signature, base64.")


class LeaveGrant(Payload):
    """Approved leave (请假, 公出) of a window's staff, on <prefix>/leaves: no duty in [start, end).

    Older grants have no `kind`: their reason says it ("公出：市局培训"), and `leave_kind` reads it from there. The
    field stays absent rather than filled in, so that what their signers signed is what is verified."""

    id: Id = Field(description="Stable id of the grant.")
    window: WindowId = Field(description="The window whose staff is away.")
    start: Moment = Field(description="Leave starts.")
    end: Moment = Field(description="Leave ends.")
    kind: LeaveKind | None = Field(None, description="请假 or 公出; absent in older grants (their reason says it).")
    reason: Note = Field(description="Why (may be empty when `kind` is given); older grants: 请假 / 公出 and why.")
    by: Name = Field("", description="Who approved it: the signer.")
    at: Moment = Field(description="When it was approved.")
    signer: Name = Field("", description="Who signed it ([[signers]]).")
    signature: Signature | None = Field(None, description="Ed25519 signature, base64.")

    @model_validator(mode="after")
    def _says_what_it_is(self) -> Self:
        if self.kind is None and not self.reason:
            raise ValueError("a grant without a kind says 请假 or 公出 in its reason")
        return self

    @property
    def leave_kind(self) -> LeaveKind:
        return self.kind or leave_kind_of(self.reason)


class LeaveChange(Payload):
    """A supervisor withdraws approved leave or changes its time, on <prefix>/leave_changes.

    withdraw: the leave ends when it was decided (`at`); the time it already covered stays covered (the person
    was excused then), and a leave that had not begun covers nothing. change: the leave now covers [start, end)
    instead (shorter, longer or moved). The grant itself stays as it was granted; the recorder keeps every
    change."""

    id: Id = Field(description="Stable id of this change (leave-change-<hex>).")
    leave_id: Id = Field(description="The grant changed.")
    action: LeaveAction = Field(description="withdraw, or change (with start and end).")
    start: Moment | None = Field(None, description="change: the leave's new start.")
    end: Moment | None = Field(None, description="change: the leave's new end.")
    reason: Reason = Field(description="Why; kept in the audit trail.")
    by: Name = Field("", description="Who decided: the signer.")
    at: Moment = Field(description="When it was decided (a withdrawal ends the leave then).")
    signer: Name = Field("", description="Who signed it ([[signers]]).")
    signature: Signature | None = Field(None, description="Ed25519 signature, base64.")

    @model_validator(mode="after")
    def _span_for_a_change_only(self) -> Self:
        if self.action == "change" and (self.start is None or self.end is None):
            raise ValueError("a change gives the leave's new start and end")
        if self.action == "withdraw" and (self.start is not None or self.end is not None):
            raise ValueError("a withdrawal gives no start or end: the leave ends when it is decided")
        return self


class Reinstatement(Payload):
    """A supervisor reverses an incident's dismissal (a dismissal made in error, an appeal overturned): the
    incident stands again and deducts as the rules count it; on <prefix>/reinstatements."""

    id: Id = Field(description="Stable id of this decision (reinstatement-<hex>).")
    incident_id: Id = Field(description="The dismissed incident that stands again.")
    reason: Reason = Field(description="Why; kept in the audit trail.")
    by: Name = Field("", description="Who decided: the signer.")
    at: Moment = Field(description="When it was decided.")
    signer: Name = Field("", description="Who signed it ([[signers]]).")
    signature: Signature | None = Field(None, description="Ed25519 signature, base64.")


class ApprovedLeave(BaseModel):
    """One approved leave in a window's list: no duty in [start, end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id = Field(description="The grant's id.")
    start: Moment = Field(description="Leave starts (as it now stands, after any change).")
    end: Moment = Field(description="Leave ends (as it now stands: a withdrawal under way ends it then).")
    kind: LeaveKind = Field(description="请假 or 公出.")
    reason: Note = Field(description="Why (older grants: 请假 / 公出 and why).")

    @model_validator(mode="before")
    @classmethod
    def _kind_of_an_older_list(cls, data: object) -> object:
        """A list an older recorder published (still retained) names no kind: its reason says it."""
        if isinstance(data, dict) and "kind" not in data and isinstance(data.get("reason"), str):
            return {**data, "kind": leave_kind_of(data["reason"])}
        return data

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"leave {self.id} ends before it starts")
        return self


class WindowLeaves(Payload):
    """Retained: a window's approved leave not yet ended (current and future), on <prefix>/windows/<id>/leaves.

    The recorder publishes it after recording a grant, a withdrawal or a change of leave and at its start; camera
    services hand it to their presence machines. Each list replaces the previous one, each leave as it now stands:
    a withdrawn leave ends when it was withdrawn, one withdrawn before it began is left out, and a leave that has
    ended is left out a few minutes later (until then a camera running behind the recorder's clock still ends the
    window's leave where it ended: monitor.services.recorder.leave_lists)."""

    window: WindowId = Field(description="The window whose staff is away.")
    leaves: list[ApprovedLeave] = Field(
        default_factory=list, max_length=MAX_LEAVES, description="Its leave not yet ended, in start order."
    )
    at: Moment = Field(description="When the recorder published the list.")


class WindowState(Payload):
    """Retained current presence of a window, on <prefix>/windows/<id>/state."""

    window: WindowId
    state: PresenceState
    since: Moment
    camera: Name = ""


CAMERA_OFFLINE = "camera_offline"
"""The kind of the alert about a camera that is out of service in duty hours (its windows unknown)."""


class Alert(Payload):
    """A supervisor alert on <prefix>/alerts, with a short Chinese message for people: a newly recorded incident,
    or (kind `camera_offline`) a camera out of service in duty hours, whose windows nobody watches.

    Delivery is at least once (a recorder killed between the broker's acknowledgement and its own note of
    it sends the alert again): `id` is the same on every delivery, and consumers drop an id they have seen."""

    id: str = Field(description="Stable id of the alert, the same on every delivery: drop repeats by it.")
    kind: str = Field(description="The incident's kind, or camera_offline.")
    label: str = Field(description="What happened, as people say it: 迟到, 空岗, 摄像头服务无响应 ...")
    started_at: AwareDatetime = Field(description="When the incident began, or since when the camera is out.")
    message: str
    incident_id: str | None = Field(default=None, description="The incident (incident alerts).")
    window: str | None = Field(default=None, description="The incident's window (incident alerts).")
    department: str | None = Field(default=None, description="The department charged (incident alerts).")
    staff: str | None = None
    points: str | None = Field(default=None, description='Points deducted, as printed ("1", "10") (incident alerts).')
    camera: str | None = Field(default=None, description="The camera out of service (camera_offline).")
    place: str | None = Field(default=None, description="Where that camera is, as the hall names it (camera_offline).")
    windows: list[str] | None = Field(default=None, description="The windows it watches, now unknown (camera_offline).")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind == CAMERA_OFFLINE:
            if self.camera is None or self.windows is None:
                raise ValueError("a camera_offline alert names its camera and windows")
        elif None in (self.incident_id, self.window, self.department, self.points):
            raise ValueError("an incident alert names its incident, window, department and points")
        return self


class Rejection(Payload):
    """A message the recorder refused, on <prefix>/rejected; nothing of it was written."""

    topic: str
    reason: str
    payload: str = Field(description="The refused payload as text (first 2000 characters).")
    at: AwareDatetime


class Status(StrEnum):
    """What the recorder made of one message."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    """The same record again (a replay, a redelivery): nothing changed."""
    DISMISSED = "dismissed"
    CONFLICT = "conflict"
    """A record that reuses a recorded id with other content: refused, nothing changed."""
    REJECTED = "rejected"


RecordKind = Literal["incident", "dismissal", "leave", "leave_change", "reinstatement"]


class Receipt(Payload):
    """The recorder's answer to a supervisor's record, on <prefix>/receipts/<kind>/<id>."""

    kind: RecordKind
    id: Id
    status: Status = Field(description="recorded, duplicate, dismissed, conflict or rejected.")
    detail: str = Field(description="What was recorded, or why it was refused.")
    words: str = Field("", max_length=500, description="Why it was refused, as the console tells the supervisor.")
    at: Moment


class SystemAlert(Payload):
    """Something the hall's operators must act on (a broker that lost the recorder's session, a client-id
    collision, refused subscriptions), on <prefix>/alerts/system."""

    component: str
    message: str
    at: Moment


class RecorderHeartbeat(Payload):
    """Retained, on <prefix>/recorder/heartbeat: the recorder holding the session is alive and working.

    Published by the thread that applies messages, every `every` seconds and after each batch, so a recorder
    whose work has stopped falls silent even if its process lives. Stale after `STALE_BEATS` beats: 记录器无响应."""

    instance: Name = Field(description="host|pid|tag of the recorder holding the session.")
    at: Moment = Field(description="When this heartbeat was sent.")
    every: float = Field(gt=0, le=3600, description="Seconds between heartbeats.")
    last_message_at: Moment | None = Field(None, description="When it last finished applying a message.")
    processed: int = Field(0, ge=0, description="Messages applied since it took the session.")
    waiting: int = Field(0, ge=0, description="Messages received and not yet applied.")

    def stale(self, now: dt.datetime) -> bool:
        """Whether the recorder has missed its beats (it is dead, stuck or cut off)."""
        return (now - self.at).total_seconds() > STALE_BEATS * self.every


STALE_BEATS = 3
"""A heartbeat older than this many of its intervals means the recorder is not answering."""

Liveness = Literal["live", "silent", "gone", "dark"]
"""A camera as the recorder hears it: `live`; `silent` (its service has published nothing for the camera's
`offline_after`); `gone` (its service's connection is lost: the last will fired, or it stopped); `dark` (its
service answers but says the camera is offline: no video)."""


class CameraLiveness(Payload):
    """Retained, on <prefix>/cameras/<id>/liveness: whether a camera's service answers, as the recorder judges it
    from what the service publishes (its status, statistics and its windows' states). While it is `silent` or
    `gone` the recorder has marked the camera's windows `unknown` in the history, and a board shows them 未知
    (摄像头服务无响应)."""

    camera: Id
    state: Liveness
    heard_at: Moment | None = Field(None, description="When the recorder last heard the camera's service (its clock).")
    since: Moment | None = Field(
        None, description="The latest time the camera vouched for, on its own frames' clock (its last frame, a state)."
    )
    at: Moment = Field(description="When the recorder judged.")


TopicKind = Literal[
    "incidents",
    "dismissals",
    "leaves",
    "leave_changes",
    "reinstatements",
    "alerts",
    "system_alerts",
    "rejected",
    "heartbeat",
    "evidence",
    "window_state",
    "window_leaves",
    "camera_status",
    "camera_stats",
    "camera_liveness",
    "availability",
    "receipt",
    "owner",
    "notice",
    "link",
]


@dataclass(frozen=True, slots=True)
class Addressed:
    """What a topic under the prefix names: its kind and the ids in it (a window, camera, incident ...)."""

    kind: TopicKind
    subject: str = ""
    """The window, camera, incident (evidence), component, record kind (receipt), session (owner), notice kind."""
    name: str = ""
    """The evidence's name, or the receipt's record id."""


CAMERA_COMPONENT = "camera-"
"""A camera service's availability component is camera-<camera id> (`Topics.camera_component`)."""


class Topics:
    """Topic names under one hall's prefix: built here, and parsed here (`parse`), nowhere else."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.incidents = f"{prefix}/incidents"
        self.dismissals = f"{prefix}/dismissals"
        self.leaves = f"{prefix}/leaves"
        self.leave_changes = f"{prefix}/leave_changes"
        self.reinstatements = f"{prefix}/reinstatements"
        self.alerts = f"{prefix}/alerts"
        self.rejected = f"{prefix}/rejected"
        self.system_alerts = f"{prefix}/alerts/system"
        self.recorder_heartbeat = f"{prefix}/recorder/heartbeat"
        self.link = f"{prefix}/link"
        """A township centre's link to the district: its broker's bridge publishes 1 (retained) on this topic when
        it connects, and the district's broker 0 when it drops (the bridge's will, Mosquitto's `notifications`)."""

    def parse(self, topic: str) -> Addressed | None:
        """What `topic` names, or None when it is not one of this prefix's topics (wildcards never are)."""
        if not topic.startswith(self.prefix + "/") or "+" in topic or "#" in topic:
            return None
        parts = topic[len(self.prefix) + 1 :].split("/")
        if not all(parts):
            return None
        match parts:
            case [
                "incidents"
                | "dismissals"
                | "leaves"
                | "leave_changes"
                | "reinstatements"
                | "alerts"
                | "rejected" as kind
            ]:
                return Addressed(kind)
            case ["alerts", "system"]:
                return Addressed("system_alerts")
            case ["recorder", "heartbeat"]:
                return Addressed("heartbeat")
            case ["link"]:
                return Addressed("link")
            case ["evidence", incident, name]:
                return Addressed("evidence", incident, name)
            case ["windows", window, "state"]:
                return Addressed("window_state", window)
            case ["windows", window, "leaves"]:
                return Addressed("window_leaves", window)
            case ["cameras", camera, "status"]:
                return Addressed("camera_status", camera)
            case ["cameras", camera, "stats"]:
                return Addressed("camera_stats", camera)
            case ["cameras", camera, "liveness"]:
                return Addressed("camera_liveness", camera)
            case ["availability", component]:
                return Addressed("availability", component)
            case ["receipts", kind, record]:
                return Addressed("receipt", kind, record)
            case ["recorders", session, "owner"]:
                return Addressed("owner", session)
            case ["notices", kind]:
                return Addressed("notice", kind)
        return None

    def availability(self, component: str) -> str:
        """Retained "online"/"offline" of one process, with an "offline" last will."""
        return f"{self.prefix}/availability/{component}"

    @staticmethod
    def camera_component(camera: str) -> str:
        """The availability component of the service watching `camera` (each camera has its own connection)."""
        return f"{CAMERA_COMPONENT}{camera}"

    @staticmethod
    def camera_of_component(component: str) -> str | None:
        """The camera whose service has availability `component`; None for any other process."""
        return component.removeprefix(CAMERA_COMPONENT) if component.startswith(CAMERA_COMPONENT) else None

    def window_state(self, window: str) -> str:
        return f"{self.prefix}/windows/{window}/state"

    def window_leaves(self, window: str) -> str:
        """Retained: the window's approved leave not yet ended (WindowLeaves), from the recorder."""
        return f"{self.prefix}/windows/{window}/leaves"

    def evidence(self, incident_id: str, name: str) -> str:
        return f"{self.prefix}/evidence/{incident_id}/{name}"

    def camera_status(self, camera: str) -> str:
        return f"{self.prefix}/cameras/{camera}/status"

    def camera_stats(self, camera: str) -> str:
        return f"{self.prefix}/cameras/{camera}/stats"

    def camera_liveness(self, camera: str) -> str:
        """Retained: whether the camera's service answers (CameraLiveness), from the recorder."""
        return f"{self.prefix}/cameras/{camera}/liveness"

    def owner(self, session: str) -> str:
        """Recorder instances announcing which one holds the durable session `session` (collision detection)."""
        return f"{self.prefix}/recorders/{session}/owner"

    def notice(self, kind: str) -> str:
        return f"{self.prefix}/notices/{kind}"

    def receipt(self, kind: str, record_id: str) -> str:
        """The recorder's answer to a supervisor's record (a dismissal's id is its incident's; every other record's
        is its own)."""
        return f"{self.prefix}/receipts/{kind}/{record_id}"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
