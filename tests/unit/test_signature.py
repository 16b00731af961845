"""Signed records (pure): what a signature proves, and who may sign what."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.config import CameraConfig, MonitorConfig, SignerConfig
from monitor.contract import Dismissal, IncidentEvent, LeaveGrant
from monitor.core.signature import SigningKey, Unauthenticated, authorize, signed_bytes

AT = dt.datetime(2020, 11, 4, 9, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
BOSS, CAMS = SigningKey.generate("主任"), SigningKey.generate("cameras-1")
CONFIG = MonitorConfig(
    windows=[{"ids": ["A01-A03"], "departments": ["综合受理"]}],
    cameras=[
        CameraConfig.model_validate(
            {"id": "cam-1", "url": "x.mp4", "windows": [{"window": "A01", "polygon": [[0, 0], [1, 0], [1, 1]]}]}
        )
    ],
    signers=[
        SignerConfig(name="主任", role="supervisor", public_key=BOSS.public_text()),
        SignerConfig(name="cameras-1", role="camera", public_key=CAMS.public_text(), cameras=["cam-1"]),
    ],
)


def incident(source: str, window: str = "A01", **fields: object) -> IncidentEvent:
    return IncidentEvent(
        id="i-1", event="new", kind="late_arrival", window=window, started_at=AT, source=source, **fields
    )  # type: ignore[arg-type]


def test_a_signature_survives_the_wire_and_names_its_signer() -> None:
    record = BOSS.sign(Dismissal(incident_id="i-1", reason="申诉成立", by="主任", at=AT))
    again = Dismissal.from_json(record.to_json())
    assert authorize(again, CONFIG).name == "主任" and again.signer == "主任"


def test_the_signed_bytes_name_the_kind_so_a_signature_fits_no_other_kind() -> None:
    assert b"\ndismissal\n" in signed_bytes(Dismissal(incident_id="i", reason="r", by="主任", at=AT))
    assert b"\nincident\n" in signed_bytes(incident("patrol:主任"))


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(incident("patrol:主任"), "not signed", id="unsigned"),
        pytest.param(
            BOSS.sign(incident("patrol:主任")).model_copy(update={"minutes": 99}), "not 主任's", id="tampered"
        ),
        pytest.param(SigningKey.generate("主任").sign(incident("patrol:主任")), "not 主任's", id="another-key"),
        pytest.param(
            SigningKey.generate("张三").sign(incident("patrol:张三")), "not a configured signer", id="stranger"
        ),
        pytest.param(BOSS.sign(incident("patrol:张三")), "signs patrol findings as patrol:主任", id="patrol-as-other"),
        pytest.param(
            BOSS.sign(Dismissal(incident_id="i", reason="r", by="张三", at=AT)), "says by '张三'", id="by-other"
        ),
        pytest.param(CAMS.sign(incident("patrol:主任")), "does not run", id="camera-as-patrol"),
        pytest.param(CAMS.sign(incident("camera:cam-2")), "does not run camera:cam-2", id="camera-not-its-own"),
        pytest.param(
            CAMS.sign(incident("camera:cam-1", window="A02")), "does not watch window A02", id="unwatched-window"
        ),
        pytest.param(
            CAMS.sign(
                LeaveGrant(id="l", window="A01", start=AT, end=AT + dt.timedelta(hours=1), reason="r", by="x", at=AT)
            ),
            "may not sign a leave",
            id="camera-grants-leave",
        ),
    ],
)
def test_who_may_not_sign_what(record: IncidentEvent | Dismissal | LeaveGrant, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=r"^unauthenticated") as refused:
        authorize(record, CONFIG)
    assert reason in str(refused.value)


def test_who_may_sign_what() -> None:
    assert authorize(CAMS.sign(incident("camera:cam-1")), CONFIG).role == "camera"
    assert authorize(BOSS.sign(incident("patrol:主任")), CONFIG).role == "supervisor"
    grant = LeaveGrant(id="l", window="A02", start=AT, end=AT + dt.timedelta(hours=1), reason="公出", by="主任", at=AT)
    assert authorize(BOSS.sign(grant), CONFIG).name == "主任"


def test_a_public_key_that_is_not_one_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not a base64 Ed25519 public key"):
        SignerConfig(name="x", public_key="bm90IGEga2V5")
