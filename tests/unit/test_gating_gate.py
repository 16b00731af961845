"""The per-zone motion gate: which seats need the detector on a frame, on drawn frames with known changes."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from monitor.adapters.video.gating import GateSettings, ZoneGate

T0 = dt.datetime(2020, 11, 3, 9, 0, tzinfo=dt.UTC)
SHAPE = (270, 960, 3)
# Two seat regions side by side (pixels, x1, y1, x2, y2).
REGIONS = {"A": (40, 20, 300, 260), "B": (520, 20, 780, 260)}
SETTINGS = GateSettings(reverify=dt.timedelta(seconds=10), settle=2)


def scene(seed: int = 0, noise: float = 2.0) -> np.ndarray:
    """A textured office picture with sensor noise (a new noise pattern per seed)."""
    rng = np.random.default_rng(seed)
    image = np.zeros(SHAPE, np.uint8)
    image[:, :] = (90, 110, 130)
    image[150:200, :] = (60, 60, 70)  # the desk
    image[30:140, 100:200] = (40, 80, 160)  # a chair back in A
    image[30:140, 580:680] = (40, 80, 160)  # and in B
    noisy = image.astype(np.float32) + rng.normal(0, noise, SHAPE)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def with_person(image: np.ndarray, x: int) -> np.ndarray:
    out = image.copy()
    out[40:190, x : x + 80] = (30, 40, 200)
    return out


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def settled_gate(image: np.ndarray, answers: dict[str, bool] | None = None) -> ZoneGate:
    """A gate whose zones were each read `settle` times on `image` (seconds 0 and 1)."""
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS)
    for second in range(SETTINGS.settle):
        assert gate.due(image, at(second)) == ("A", "B")
        gate.record(image, at(second), answers or {"A": True, "B": False})
    return gate


def test_first_frames_read_every_zone_until_the_answers_settle() -> None:
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS)
    image = scene()
    assert gate.due(image, at(0)) == ("A", "B")
    gate.record(image, at(0), {"A": True, "B": False})
    assert gate.due(image, at(1)) == ("A", "B")  # one answer is not settled yet
    gate.record(image, at(1), {"A": True, "B": False})
    assert gate.due(image, at(2)) == ()


def test_a_static_scene_with_noise_is_skipped_until_the_next_period() -> None:
    gate = settled_gate(scene(0))  # read at 0 s and 1 s; periods of 10 s start at 0 s (phase 0)
    for second in range(2, 10):
        assert gate.due(scene(second), at(second)) == (), f"second {second}"
    assert gate.due(scene(10), at(10)) == ("A", "B")


def test_the_phase_shifts_the_periods() -> None:
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS, phase=0.5)  # periods start at 5 s, 15 s, ...
    for second in (0, 1):
        gate.due(scene(second), at(second))
        gate.record(scene(second), at(second), {"A": True, "B": False})
    assert [s for s in range(2, 16) if gate.due(scene(s), at(s))] == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    gate.record(scene(5), at(5), {"A": True, "B": False})
    assert [s for s in range(6, 16) if gate.due(scene(s), at(s))] == [15]


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.9])
def test_no_zone_goes_unread_longer_than_reverify(phase: float) -> None:
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS, phase=phase)
    reads: dict[str, list[float]] = {"A": [], "B": []}
    for tenth in range(0, 1000, 7):  # frames every 0.7 s for 100 s, a person in B from 40 s to 45 s
        second = tenth / 10
        image = with_person(scene(tenth), 560) if 40 <= second < 45 else scene(tenth)
        due = gate.due(image, at(second))
        gate.record(image, at(second), {w: w == "B" and 40 <= second < 45 for w in due})
        for window in due:
            reads[window].append(second)
    for window, times in reads.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # A period's first frame comes at most one frame interval (0.7 s) after the period starts.
        assert max(gaps) <= SETTINGS.reverify.total_seconds() + 0.7 + 1e-9, window
        assert len(times) < 40  # about one read a period, a few more around the person's visit


def test_motion_in_one_region_makes_only_that_zone_due() -> None:
    gate = settled_gate(scene(0))
    assert gate.due(with_person(scene(3), 560), at(3)) == ("B",)


def test_a_person_sitting_still_is_skipped_once_read() -> None:
    gate = settled_gate(scene(0))
    seated = with_person(scene(3), 560)
    assert gate.due(seated, at(3)) == ("B",)
    gate.record(seated, at(3), {"B": True})
    # B's last two answers are False, True: not settled, read again.
    seated = with_person(scene(4), 560)
    assert gate.due(seated, at(4)) == ("B",)
    gate.record(seated, at(4), {"B": True})
    assert gate.due(with_person(scene(5), 560), at(5)) == ()


def test_disagreeing_answers_keep_a_zone_due() -> None:
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS)
    image = scene()
    for second, answer in enumerate([True, False, True, False]):
        assert "A" in gate.due(image, at(second))
        gate.record(image, at(second), {"A": answer, "B": False})


@pytest.mark.parametrize("shift", [-40, 35])
def test_lighting_change_is_not_motion(shift: int) -> None:
    gate = settled_gate(scene(0))
    brighter = np.clip(scene(2).astype(np.int16) + shift, 0, 255).astype(np.uint8)
    assert gate.due(brighter, at(2)) == ()


def test_a_gap_in_the_frames_longer_than_reverify_reads_everything() -> None:
    gate = settled_gate(scene(0))
    assert gate.due(scene(2), at(2)) == ()
    gate.record(scene(8), at(8), {"A": True, "B": False})  # both read at 8 s
    assert gate.due(scene(40), at(40)) == ("A", "B")  # 38 s without frames


def test_steady_means_nothing_new_even_when_a_reverification_read_the_zones() -> None:
    gate = ZoneGate(REGIONS, SHAPE, SETTINGS)
    gate.due(scene(0), at(0))
    gate.record(scene(0), at(0), {"A": True, "B": False})
    assert not gate.steady()  # one reading each: not settled
    settled = settled_gate(scene(0))
    assert settled.due(scene(2), at(2)) == () and settled.steady()
    # The re-verification at 10 s confirms both answers: still nothing new.
    assert settled.due(scene(10), at(10)) == ("A", "B")
    settled.record(scene(10), at(10), {"A": True, "B": False})
    assert settled.steady()
    # A re-verification that contradicts its zone, or motion anywhere, is news.
    assert settled.due(scene(20), at(20)) == ("A", "B")
    settled.record(scene(20), at(20), {"A": False, "B": False})
    assert not settled.steady()
    moving = settled_gate(scene(0))
    assert moving.due(with_person(scene(3), 560), at(3)) == ("B",)
    moving.record(with_person(scene(3), 560), at(3), {"B": False})  # moved, still read empty
    assert not moving.steady()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="reverify"):
        GateSettings(reverify=dt.timedelta(0))
    with pytest.raises(ValueError, match="settle"):
        GateSettings(settle=0)
