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
