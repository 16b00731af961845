"""Signed records: who may write what, proven by an Ed25519 signature the recorder verifies.

Every record that costs or restores points — an incident (from a camera service or a patrol), a
dismissal or its reinstatement, an approved leave or its withdrawal or change — carries the name of
its signer and a signature over its content. The recorder accepts it only when the signature is
valid for a configured signer whose role allows it (`authorize`), whatever the broker let through:
a broker account, a stolen camera password or an anonymous client cannot forge a supervisor, and a
camera service cannot report windows it does not watch. Pure: the message bytes are a function of
the payload; keys are values.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from monitor.config import MonitorConfig
from monitor.config.signers import SignerConfig
from monitor.contract import Dismissal, IncidentEvent, LeaveChange, LeaveGrant, Reinstatement

Record = IncidentEvent | Dismissal | LeaveGrant | LeaveChange | Reinstatement
Kind = Literal["incident", "dismissal", "leave", "leave_change", "reinstatement"]
DOMAIN = b"hall-monitor/v1"
"""Signed bytes start with this and the record's kind, so a signature never fits another kind of record."""


class Unauthenticated(ValueError):
    """The record is not proven to come from someone allowed to write it; nothing of it is written."""


def kind_of(record: Record) -> Kind:
    match record:
        case IncidentEvent():
            return "incident"
        case Dismissal():
            return "dismissal"
        case LeaveGrant():
            return "leave"
        case LeaveChange():
            return "leave_change"
        case Reinstatement():
            return "reinstatement"


def signed_bytes(record: Record) -> bytes:
    """What is signed: the domain, the kind and the record's canonical JSON without its signature."""
    content = record.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"signature"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DOMAIN + b"\n" + kind_of(record).encode() + b"\n" + canonical.encode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A signer's private key: the name the recorder knows it by, and the key."""

    name: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name, Ed25519PrivateKey.generate())

    def public_text(self) -> str:
        """The public key as `[[signers]] public_key` takes it (base64 of the raw 32 bytes)."""
        return base64.b64encode(self.key.public_key().public_bytes_raw()).decode()

    def private_text(self) -> str:
        return base64.b64encode(self.key.private_bytes_raw()).decode()

    def sign(self, record: Record) -> Record:
        """The record with this signer's name and signature."""
        named = record.model_copy(update={"signer": self.name, "signature": None})
        signature = base64.b64encode(self.key.sign(signed_bytes(named))).decode()
        return named.model_copy(update={"signature": signature})


def public_key(text: str) -> Ed25519PublicKey:
    """A `public_key` value; ValueError when it is not a base64 Ed25519 public key."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValueError("not a base64 Ed25519 public key (`monitor key new` prints one)") from None


def private_key(text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("not a base64 Ed25519 private key (`monitor key new` writes one)") from None


def verify(record: Record, signers: dict[str, SignerConfig]) -> SignerConfig:
    """The configured signer whose valid signature the record carries; Unauthenticated otherwise."""
    if not record.signer or not record.signature:
        raise Unauthenticated("unauthenticated: the record is not signed (sign it with the signer's key)")
    signer = signers.get(record.signer)
    if signer is None:
        raise Unauthenticated(f"unauthenticated: {record.signer!r} is not a configured signer ([[signers]])")
    try:
        signature = base64.b64decode(record.signature, validate=True)
        public_key(signer.public_key).verify(signature, signed_bytes(record))
    except (binascii.Error, ValueError, InvalidSignature):
        raise Unauthenticated(f"unauthenticated: the signature is not {record.signer}'s") from None
    return signer


def acting_person(record: Record) -> str:
    """Who acted: a patrol finding's ``patrol:<name>``, any other record's ``by``; "" when not said."""
    if isinstance(record, IncidentEvent):
        return record.source.removeprefix("patrol:") if record.source.startswith("patrol:") else ""
    return record.by


def authorize(record: Record, config: MonitorConfig) -> SignerConfig:
    """Verify the signature, then that the signer may write this record; Unauthenticated otherwise.

    A supervisor signs patrol findings (source ``patrol:<name>``), dismissals, reinstatements, leave and its
    withdrawals and changes under their own name (``by``); the console signs them for the person logged in
    (the recorder then checks that person's account: `acting_person`); a camera service signs incidents of the
    cameras it runs (source ``camera:<id>``), for windows those cameras watch.
    """
    signer = verify(record, config.signers_by_name)
    if signer.role == "console":
        person = acting_person(record)
        if not person:
            raise Unauthenticated(f"unauthenticated: the console {signer.name} must name the person who acted")
        return signer
    if signer.role == "supervisor":
        if isinstance(record, IncidentEvent):
            if record.source != f"patrol:{signer.name}":
                raise Unauthenticated(
                    f"unauthenticated: supervisor {signer.name} signs patrol findings as patrol:{signer.name}, "
                    f"not {record.source!r}"
                )
        elif record.by != signer.name:
            raise Unauthenticated(f"unauthenticated: signed by {signer.name} but says by {record.by!r}")
        return signer
    if not isinstance(record, IncidentEvent):
        raise Unauthenticated(f"unauthenticated: camera service {signer.name} may not sign a {kind_of(record)}")
    camera_id = record.source.removeprefix("camera:")
    if not record.source.startswith("camera:") or (signer.cameras and camera_id not in signer.cameras):
        raise Unauthenticated(f"unauthenticated: {signer.name} does not run {record.source or 'that source'}")
    camera = next((c for c in config.cameras if c.id == camera_id), None)
    if camera is None or record.window not in {z.window for z in camera.windows}:
        raise Unauthenticated(f"unauthenticated: camera {camera_id} does not watch window {record.window}")
    return signer
