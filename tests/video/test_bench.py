"""The hall benchmark: the synthetic hall, the delay measure, and `monitor bench` on a tiny hall (not timed)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import pytest

from monitor.config import MonitorConfig, load_config
from monitor.errors import InputError
from monitor.tools.bench.hall import BenchSpec, SyntheticHall, Tile, build_hall
from monitor.tools.bench.measure import SeatChange, delays, seat_changes
from monitor.tools.bench.runner import Published
from monitor.tools.streams.rtsp import rtsp_server_available
from tests.support.paths import FIXTURE_HALL, ROOT
from tests.support.paths import VIDEOS as FIXTURES


def hall_of(occupancy: dict[str, tuple[tuple[float, float], ...]], seconds: int = 300) -> SyntheticHall:
    tiles = tuple(Tile(FIXTURES / "late.mp4", 0.0, window, spans) for window, spans in occupancy.items())
    return SyntheticHall(
        Path("unused"), dt.datetime(2020, 11, 3, 9, 5, tzinfo=dt.UTC), seconds, {"cam": tiles}, {"cam": Path("unused")}
    )


def test_seat_changes_are_those_long_enough_on_both_sides_to_be_confirmed() -> None:
    config = load_config(FIXTURE_HALL)  # arrive_after 20s, leave_after 30s; 10 s of slack
    hall = hall_of(
        {
            "A": ((100.0, 200.0),),  # empty 100 s, seated 100 s, empty 100 s: two changes
            "B": ((0.0, 150.0), (160.0, 300.0)),  # away 10 s: too short to confirm, no change
            "C": ((280.0, 300.0),),  # sits down 20 s before the end: not long enough to see
            "D": ((0.0, 120.0),),  # leaves at 120 s and stays away
        }
    )
    assert seat_changes(hall, config) == [
        SeatChange("A", "present", 100.0),
        SeatChange("A", "absent", 200.0),
        SeatChange("D", "absent", 120.0),
    ]


def test_delay_is_to_the_first_matching_publication_plus_its_latency() -> None:
    changes = [SeatChange("A", "present", 100.0), SeatChange("A", "absent", 200.0), SeatChange("B", "absent", 50.0)]
    published = [
        Published("A", "absent", 30.0, 0.01),
        Published("A", "present", 112.0, 0.5),
        Published("A", "present", 150.0, 0.5),
        Published("A", "absent", 195.0, 0.25),  # seen leaving a few seconds before the scripted moment
    ]
    result = delays(changes, published)
    assert (result.changes, result.matched) == (3, 2)
    assert result.median == pytest.approx((12.5 + 0.25) / 2)
    assert result.worst == pytest.approx(12.5)


def test_no_publication_means_no_delay_figures() -> None:
    result = delays([SeatChange("A", "present", 10.0)], [Published("A", "present", 500.0, 0.0)])
    assert (result.matched, result.median, result.p95, result.worst) == (0, None, None, None)


def test_build_hall_writes_mosaic_cameras_with_shifted_zones(tmp_path: Path) -> None:
    spec = BenchSpec(cameras=2, windows=3, seconds=5)
    hall = build_hall(spec, FIXTURES, tmp_path)
    config = MonitorConfig.model_validate_json(hall.config_file.read_text(encoding="utf-8"))
    assert [c.id for c in config.cameras] == ["bench-01", "bench-02"]
    assert [w.id for w in config.window_list] == ["H011", "H012", "H013", "H021", "H022", "H023"]
    camera = config.cameras[0]
    capture = cv2.VideoCapture(camera.url)
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (960, 540)
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 5
    capture.release()
    # A 2x2 grid: the third window's zone lies in the bottom-left quarter.
    xs = [x for x, _ in camera.windows[2].polygon]
    ys = [y for _, y in camera.windows[2].polygon]
    assert max(xs) <= 0.5 and min(ys) >= 0.5
    assert len(camera.exclusions) == 3
    assert set(hall.tiles) == {"bench-01", "bench-02"}


def test_h264_kinds_are_streams_as_an_nvr_sends_them_shared_by_the_cameras_and_kept(tmp_path: Path) -> None:
    spec = BenchSpec(cameras=3, windows=2, seconds=4, stream="d1", gop=25, distinct=2)
    hall = build_hall(spec, FIXTURES, tmp_path)
    assert len(set(hall.videos.values())) == 2
    assert hall.videos["bench-03"] == hall.videos["bench-01"]  # the cameras take the mosaics in turn
    assert hall.tiles["bench-03"][0].clip == hall.tiles["bench-01"][0].clip
    with av.open(str(hall.videos["bench-01"])) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 704, 576)
        assert stream.average_rate == 25
        assert stream.sample_aspect_ratio == Fraction(16, 11)  # the 16:9 mosaic squeezed into 704x576, declared
        keyframes = [n for n, packet in enumerate(container.demux(stream)) if packet.is_keyframe]
    assert keyframes == [0, 25, 50, 75]
    written = {video: video.stat().st_mtime_ns for video in hall.videos.values()}
    again = build_hall(spec, FIXTURES, tmp_path)  # the same mosaics: the files are used again
    assert {video: video.stat().st_mtime_ns for video in again.videos.values()} == written


def test_a_run_longer_than_the_clips_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--seconds"):
        build_hall(BenchSpec(cameras=1, windows=1, seconds=100_000), FIXTURES, tmp_path)


@pytest.mark.parametrize(
    "fields",
    [{"cameras": 0}, {"stream": "4k"}, {"gop": 0}, {"distinct": 0}],
    ids=["cameras", "stream", "gop", "distinct"],
)
def test_bad_spec_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InputError):
        BenchSpec(**fields)  # type: ignore[arg-type]


def test_monitor_bench_runs_both_pipelines_on_a_tiny_hall(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench", "--cameras", "2", "--windows", "2", "--seconds", "12", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    naive, tuned, optimised, evidence = report["modes"]
    assert [m["mode"] for m in report["modes"]] == ["naive", "naive-tuned", "optimised", "evidence"]
    assert naive["frames"] == tuned["frames"] == optimised["frames"] == evidence["frames"] == 24
    # The evidence mode is the optimised loop making what a live camera service makes: the same reading of the
    # seats, and its cost reported against the optimised mode.
    assert evidence["detector_calls"] == optimised["detector_calls"]
    assert report["evidence_share"] == pytest.approx(evidence["cpu_seconds"] / optimised["cpu_seconds"] - 1, abs=0.002)
    for whole in (naive, tuned):
        assert whole["detector_calls"] == 24 and whole["zones_read_share"] == 1.0
    # Every zone is read on the first frames; after that the static ones are skipped.
    assert optimised["detector_calls"] < naive["detector_calls"]
    assert 0 < optimised["zones_read_share"] < 1
    for mode in report["modes"]:
        assert mode["cpu_seconds"] > 0 and mode["peak_memory_mb"] > 50 and mode["realtime_factor"] > 0
    # Measured, not judged here (how much CPU the optimised loop saves is docs/benchmarks.md's subject):
    # the ratio is the naive pipeline's CPU over the optimised one's.
    assert report["cpu_ratio"] == pytest.approx(naive["cpu_seconds"] / optimised["cpu_seconds"], abs=0.006)
    assert report["machine"]["cores"] == str(os.cpu_count())


def bench(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench", "--cameras", "2", "--windows", "2", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_monitor_bench_on_h264_streams_decodes_only_what_it_samples_and_splits_the_cpu() -> None:
    report = bench("--seconds", "20", "--stream", "d1", "--gop", "25")
    naive, _, optimised, _ = report["modes"]
    assert (report["stream"], report["gop"], report["transport"]) == ("d1", 25, "file")
    assert naive["decode_modes"] == ["all"] and naive["decoded_share"] == 1.0
    # A keyframe a second and a sample a second: after learning the GOP, keyframes only.
    assert optimised["decode_modes"] == ["keyframes"] and optimised["decoded_share"] < 0.25
    assert naive["frames"] == optimised["frames"] == 40
    for mode in report["modes"]:
        parts = (
            mode["decode_seconds_per_camera_hour"]
            + mode["detector_seconds_per_camera_hour"]
            + mode["other_seconds_per_camera_hour"]
        )
        assert mode["decode_seconds_per_camera_hour"] > 0 and mode["detector_seconds_per_camera_hour"] > 0
        assert parts == pytest.approx(mode["cpu_seconds_per_camera_hour"], rel=0.02)


def test_with_a_keyframe_every_two_seconds_quiet_gops_are_held_and_every_sample_still_comes() -> None:
    report = bench("--seconds", "40", "--stream", "d1", "--gop", "50")
    naive, _, optimised, _ = report["modes"]
    assert optimised["decode_modes"] == ["partial"]
    # Every sample of every camera still goes through the pipeline; those of held GOPs without decoding.
    assert naive["frames"] == optimised["frames"] == 2 * 40
    assert naive["held_share"] == 0 and 0 < optimised["held_share"] < 0.5
    assert optimised["decoded_share"] < 0.5
    assert optimised["delays"]["matched"] == naive["delays"]["matched"]


@pytest.mark.skipif(not rtsp_server_available(), reason="GStreamer's RTSP server is not installed; .ci/run installs it")
def test_monitor_bench_over_rtsp_reads_the_streams_in_real_time() -> None:
    report = bench("--seconds", "8", "--stream", "d1", "--gop", "25", "--transport", "rtsp")
    for mode in report["modes"]:
        # A real server plays the streams at their own pace: a run covers its seconds and no more.
        assert 0.7 <= mode["realtime_factor"] <= 1.05
        assert mode["frames"] >= 2 * 5


def test_monitor_bench_refuses_a_bad_reverify() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench", "--reverify", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "--reverify" in done.stderr and "Traceback" not in done.stderr
