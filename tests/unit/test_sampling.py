"""Which frames of a stream are decoded and sampled (monitor.core.sampling)."""

from __future__ import annotations

import pytest

from monitor.core.sampling import Sampler


def play(sampler: Sampler, seconds: float, *, fps: int = 25, gop: int = 50) -> tuple[list[float], list[float]]:
    """Feed a stream of `seconds` at `fps` with a keyframe every `gop` frames: (decoded times, sampled times)."""
    decoded: list[float] = []
    taken: list[float] = []
    for n in range(round(seconds * fps)):
        at, keyframe = n / fps, n % gop == 0
        if sampler.decode(at, keyframe):
            decoded.append(at)
            if sampler.take(at, keyframe=keyframe):
                taken.append(at)
    return decoded, taken


@pytest.mark.parametrize(
    ("gop", "detect_fps", "mode", "decoded_per_gop"),
    [
        (25, 1.0, "keyframes", 1),  # a keyframe a second, a sample a second: keyframes only
        (50, 1.0, "partial", 26),  # a keyframe every 2 s: from each keyframe to the frame 1 s later
        (50, 0.5, "keyframes", 1),
        (12, 1.0, "keyframes", None),  # keyframes twice a second: about every other one decoded
        (250, 1.0, "partial", 226),  # 10 s GOP: up to the last sample of each GOP
        (50, 5.0, "partial", 46),  # 5 samples a second, a sample every 5 frames
    ],
)
def test_it_decodes_the_fewest_frames_for_the_sampling(
    gop: int, detect_fps: float, mode: str, decoded_per_gop: int | None
) -> None:
    sampler = Sampler(period=1 / detect_fps)
    seconds = 60
    decoded, taken = play(sampler, seconds, gop=gop)
    assert sampler.mode == mode
    # The samples are those asked for: one every period, on the grid of the first (with keyframes only,
    # a keyframe within half a GOP of the grid stands for its sample).
    grid = [n / detect_fps for n in range(round(seconds * detect_fps))]
    assert len(taken) == len(grid)
    assert taken == pytest.approx(grid, abs=gop / 25 / 2 + 1e-6 if mode == "keyframes" else 1e-6)
    # After the first GOP (learning it), each GOP costs what it must and no more.
    later = [t for t in decoded if t >= 2 * gop / 25]
    gops = (seconds - 2 * gop / 25) / (gop / 25)
    if decoded_per_gop is not None:
        assert len(later) == pytest.approx(decoded_per_gop * gops, abs=decoded_per_gop)
    else:
        assert len(later) == pytest.approx(seconds - 2 * gop / 25, abs=2)  # a keyframe a second


def test_until_the_gop_is_known_every_frame_is_decoded() -> None:
    sampler = Sampler(period=1.0)
    decoded, taken = play(sampler, 1.96, gop=50)  # one keyframe only: the GOP is not known yet
    assert sampler.mode == "all"
    assert len(decoded) == 49 and taken == [0.0, 1.0]


def test_a_restart_samples_the_new_stream_from_its_first_frame() -> None:
    sampler = Sampler(period=1.0)
    play(sampler, 10, gop=25)
    sampler.restart()  # the server restarted: its times begin at 0 again
    assert sampler.decode(0.0, keyframe=True) and sampler.take(0.0, keyframe=True)
    assert sampler.mode == "keyframes"  # what was learnt of the GOP stays


def test_a_gap_in_the_stream_is_not_made_up() -> None:
    sampler = Sampler(period=1.0)
    for at in (0.0, 1.0, 7.3, 7.5, 8.0, 8.3):
        assert sampler.decode(at, keyframe=True)
    assert [at for at in (0.0, 1.0, 7.3, 7.5, 8.0, 8.3) if Sampler(period=1.0).take(at)]  # fresh: takes
    sampler = Sampler(period=1.0)
    assert [at for at in (0.0, 1.0, 7.3, 7.5, 8.0, 8.3) if sampler.take(at)] == [0.0, 1.0, 7.3, 8.0]


def play_holding(
    sampler: Sampler, seconds: float, quiet: set[int], *, fps: int = 25, gop: int = 50
) -> tuple[list[float], list[tuple[float, bool]]]:
    """As `play`, with a consumer that holds the GOP of every decoded sample of a `quiet` GOP number:
    (decoded times, samples as (time, held))."""
    decoded: list[float] = []
    samples: list[tuple[float, bool]] = []
    for n in range(round(seconds * fps)):
        at, keyframe = n / fps, n % gop == 0
        if sampler.decode(at, keyframe):
            decoded.append(at)
            if sampler.take(at, keyframe=keyframe):
                samples.append((at, False))
                if sampler.keyframes in quiet:
                    sampler.hold(sampler.keyframes)
        elif sampler.take_held(at):
            samples.append((at, True))
    return decoded, samples


def test_a_held_gop_is_decoded_up_to_its_first_sample_and_keeps_every_sample() -> None:
    sampler = Sampler(period=1.0)
    quiet = set(range(3, 31, 2))  # from the third GOP on, every other GOP shows nothing new
    decoded, samples = play_holding(sampler, 60, quiet)
    assert sampler.mode == "partial"
    # Every sample of the grid is there, in order; those of held GOPs after the first sample are held.
    assert [at for at, _ in samples] == pytest.approx([float(s) for s in range(60)])
    held = [at for at, was_held in samples if was_held]
    assert held == pytest.approx([2 * (g - 1) + 1.0 for g in sorted(quiet)])
    assert sampler.held == len(held) and sampler.taken == 60
    # A held GOP costs its keyframe alone; the others up to their second sample (26 frames).
    for g in (3, 4, 5):
        in_gop = [t for t in decoded if 2 * (g - 1) <= t < 2 * g]
        assert len(in_gop) == (1 if g in quiet else 26)


def test_a_hold_for_a_gop_that_has_ended_changes_nothing() -> None:
    sampler = Sampler(period=1.0)
    play(sampler, 10)  # five GOPs: partial
    late = sampler.keyframes - 1  # the consumer answers for the GOP before the one being read
    sampler.hold(late)
    assert sampler.decode(10.0, keyframe=True) and sampler.decode(10.04, keyframe=False)
    assert not sampler.take_held(10.04)


def test_only_partial_mode_holds() -> None:
    sampler = Sampler(period=1.0)
    play(sampler, 10, gop=25)  # keyframes only: nothing between keyframes is decoded anyway
    sampler.hold(sampler.keyframes)
    assert not sampler.take_held(10.5)
    assert sampler.decode(11.0, keyframe=True) and sampler.take(11.0, keyframe=True)


def test_a_gop_longer_than_two_seconds_is_never_held() -> None:
    """A change in a held GOP waits for the next keyframe: with a 3 s GOP that could be 3 s late."""
    sampler = Sampler(period=1.0)
    _, samples = play_holding(sampler, 30, quiet=set(range(30)), gop=75)
    assert sampler.mode == "partial" and sampler.held == 0
    assert not any(held for _, held in samples) and len(samples) == 30
