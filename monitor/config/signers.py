"""Who may sign records: supervisors (patrol findings, dismissals, leave) and camera services."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, field_validator

from monitor.config.base import Section


class SignerConfig(Section):
    name: str = Field(
        min_length=1,
        max_length=64,
        description="The signer's name: a supervisor's own name (as `by` and `patrol:<name>` print it), or a "
        "camera service's (e.g. cameras-server1).",
    )
    role: Literal["supervisor", "camera", "console"] = Field(
        "supervisor",
        description='"supervisor": may sign patrol findings, dismissals and leave under this name; "camera": may '
        'sign incidents of the cameras listed in `cameras`; "console": the web console, which signs them for the '
        "person logged in (the recorder checks that person's account and role).",
    )
    public_key: str = Field(
        min_length=1,
        description="The Ed25519 public key, base64 (`monitor key new` prints the line). Public: it may be in "
        "the file; the private key stays with its owner.",
    )
    cameras: list[str] = Field(
        default_factory=list, description='role "camera": the camera ids it runs; empty: every configured camera.'
    )

    @field_validator("public_key")
    @classmethod
    def _raw_ed25519(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != 32:
            raise ValueError("not a base64 Ed25519 public key of 32 bytes (`monitor key new` prints one)")
        return value
