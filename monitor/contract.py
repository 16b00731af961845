"""The MQTT contract: topics and JSON payloads (schema version 1). docs/mqtt.md documents it.

Every process speaks only through these models, so a worker, the recorder and the scheduler can
run on different machines and be upgraded one at a time: a payload carries its `schema` version
and a receiver refuses a version it does not know rather than guess.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1

Lifecycle = Literal["new", "update", "end"]
PresenceState = Literal["present", "absent", "unknown", "off_duty"]


class ContractError(ValueError):
    """A payload that does not follow the contract; the message says what is wrong."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Annotated[int, Field(alias="schema", description="Payload schema version.")] = SCHEMA_VERSION

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
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractError(f"not JSON: {exc}") from None
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
    recorder is idempotent on (id, event, seq).
    """

    id: str = Field(min_length=1, max_length=64, description="Stable incident id (the same for every event).")
    event: Lifecycle = Field(description="new when established, update while it lasts, end when it is over.")
    seq: int = Field(0, ge=0, description="Order of this event within the incident (new = 0).")
    kind: str = Field(min_length=1, description="late_arrival, empty_post, early_leave, or a configured kind.")
    window: str = Field(min_length=1, description="Window id, e.g. C25.")
    started_at: AwareDatetime = Field(description="Arrival (late_arrival), or when the post became empty.")
    ended_at: AwareDatetime | None = Field(None, description="When it ended (end events).")
    minutes: int | None = Field(None, ge=0, description="Minutes late, or minutes the post has been empty.")
    staff: str | None = Field(None, description="The person, when the source knows better than the roster.")
    source: str = Field("", description="Who found it: camera:<id> or patrol:<user>.")
    note: str = Field("", max_length=500, description="Free text from the source.")
    evidence: list[str] = Field(default_factory=list, description="Evidence names sent on the evidence topic.")
    sent_at: AwareDatetime | None = Field(None, description="When the source published it.")


class Dismissal(Payload):
    """A supervisor withdraws an incident (appeal upheld, leave approved); on <prefix>/dismissals."""

    incident_id: str = Field(min_length=1, description="The incident withdrawn.")
    reason: str = Field(min_length=1, max_length=500, description="Why; kept in the audit trail.")
    by: str = Field("", description="Who decided.")
    at: AwareDatetime = Field(description="When it was decided.")


class LeaveGrant(Payload):
    """Approved leave (请假, 公出) of a window's staff, on <prefix>/leaves: no duty in [start, end)."""

    id: str = Field(min_length=1, max_length=64, description="Stable id of the grant.")
    window: str = Field(min_length=1, description="The window whose staff is away.")
    start: AwareDatetime = Field(description="Leave starts.")
    end: AwareDatetime = Field(description="Leave ends.")
    reason: str = Field(min_length=1, max_length=500, description="请假 / 公出 and why.")
    by: str = Field("", description="Who approved it.")
    at: AwareDatetime = Field(description="When it was approved.")


class WindowState(Payload):
    """Retained current presence of a window, on <prefix>/windows/<id>/state."""

    window: str
    state: PresenceState
    since: AwareDatetime
    camera: str = ""


class Alert(Payload):
    """A supervisor alert on <prefix>/alerts, with a short Chinese message for people."""

    incident_id: str
    kind: str
    label: str
    window: str
    department: str
    staff: str | None = None
    points: str = Field(description='Points deducted, as printed ("1", "10").')
    started_at: AwareDatetime
    message: str


class Rejection(Payload):
    """A message the recorder refused, on <prefix>/rejected; nothing of it was written."""

    topic: str
    reason: str
    payload: str = Field(description="The refused payload as text (first 2000 characters).")
    at: AwareDatetime


class Topics:
    """Topic names under one hall's prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.incidents = f"{prefix}/incidents"
        self.dismissals = f"{prefix}/dismissals"
        self.leaves = f"{prefix}/leaves"
        self.alerts = f"{prefix}/alerts"
        self.rejected = f"{prefix}/rejected"

    def availability(self, component: str) -> str:
        """Retained "online"/"offline" of one process, with an "offline" last will."""
        return f"{self.prefix}/availability/{component}"

    def window_state(self, window: str) -> str:
        return f"{self.prefix}/windows/{window}/state"

    def evidence(self, incident_id: str, name: str) -> str:
        return f"{self.prefix}/evidence/{incident_id}/{name}"

    def camera_status(self, camera: str) -> str:
        return f"{self.prefix}/cameras/{camera}/status"

    def notice(self, kind: str) -> str:
        return f"{self.prefix}/notices/{kind}"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
