"""The pure evaluation: ground-truth parsing, matching, precision, recall and timing error."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from monitor.adapters.files import load_truth
from monitor.core.evaluation import FoundIncident, TrueIncident, match_clip, summarize, total
from monitor.core.presence import IncidentChange
from monitor.errors import InputError

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2020, 11, 3, 9, 0, tzinfo=TZ)
TOL = dt.timedelta(seconds=31)


def minute(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def found(kind: str, window: str, start: float, end: float | None = None, minutes: int = 0) -> FoundIncident:
    late = minutes if kind == "late_arrival" else None
    ended = minute(end) if end is not None else None
    return FoundIncident(f"{kind}-{window}-{start}", kind, window, minute(start), ended, minutes, late)


def true(kind: str, window: str, start: float, end: float | None = None) -> TrueIncident:
    return TrueIncident(kind, window, minute(start), minute(end) if end is not None else None, None)


def test_perfect_match():
    score = match_clip("c", [true("empty_post", "F01", 33, 39)], [found("empty_post", "F01", 33.03, 38.98)], TOL)
    assert (score.precision, score.recall) == (1.0, 1.0)
    assert score.max_start_error == dt.timedelta(seconds=1.8)
    assert score.max_end_error == dt.timedelta(seconds=1.2)


def test_start_outside_tolerance_is_both_missed_and_spurious():
    score = match_clip("c", [true("empty_post", "F01", 33)], [found("empty_post", "F01", 34)], TOL)
    assert (score.precision, score.recall) == (0.0, 0.0)
    assert len(score.missed) == len(score.spurious) == 1


def test_kind_and_window_must_agree():
    truth = [true("empty_post", "F01", 10)]
    assert match_clip("c", truth, [found("late_arrival", "F01", 10)], TOL).recall == 0.0
    assert match_clip("c", truth, [found("empty_post", "F02", 10)], TOL).recall == 0.0


def test_late_arrival_matches_on_the_arrival_in_either_convention():
    arrival = found("late_arrival", "F02", 3.5, 3.5, minutes=3)
    interval = true("late_arrival", "F02", 0, 3.5)  # session start .. arrival
    instant = true("late_arrival", "F02", 3.5, 3.5)  # the contract's arrival = start = end
    assert match_clip("c", [interval], [arrival], TOL).recall == 1.0
    assert match_clip("c", [instant], [arrival], TOL).recall == 1.0
    assert match_clip("c", [interval], [arrival], TOL).max_end_error is None


def test_each_incident_matches_once_closest_first():
    truth = [true("empty_post", "F01", 10), true("empty_post", "F01", 10.4)]
    score = match_clip("c", truth, [found("empty_post", "F01", 10.3)], TOL)
    assert len(score.matches) == 1 and score.matches[0].truth.started_at == minute(10.4)
    assert score.recall == 0.5 and score.precision == 1.0


def test_empty_clip_scores_one_and_totals_pool_incidents():
    quiet = match_clip("quiet", [], [], TOL)
    assert (quiet.precision, quiet.recall) == (1.0, 1.0)
    bad = match_clip("bad", [true("empty_post", "F01", 5)], [], TOL)
    good = match_clip("good", [true("empty_post", "F01", 5)] * 3, [found("empty_post", "F01", 5)] * 3, TOL)
    pooled = total([quiet, bad, good])
    assert pooled.recall == 0.75 and pooled.precision == 1.0


def test_summarize_keeps_the_last_word_of_each_incident():
    new = IncidentChange("x", "new", 0, "empty_post", "F01", minute(0), None, 15)
    end = IncidentChange("x", "end", 2, "empty_post", "F01", minute(0), minute(20), 20)
    late = IncidentChange("y", "new", 0, "late_arrival", "F02", minute(7), minute(7), 7)
    summary = summarize([late, new, end], TZ)
    assert [(f.id, f.ended_at, f.minutes, f.minutes_late) for f in summary] == [
        ("x", minute(20), 20, None),
        ("y", minute(7), 7, 7),
    ]
    assert summary[1].to_json()["minutes_late"] == 7


def test_load_truth(tmp_path):
    path = tmp_path / "c.truth.json"
    data = {
        "camera": "cam",
        "start": "2020-11-03T08:58:00+08:00",
        "incidents": [
            {
                "kind": "empty_post",
                "window": "F01",
                "started_at": "2020-11-03T09:33:00+08:00",
                "ended_at": None,
                "minutes_late": None,
            }
        ],
        "dropouts": [],
    }
    path.write_text(json.dumps(data))
    truth = load_truth(path)
    assert truth.camera == "cam" and truth.incidents[0].ended_at is None
    data["incidents"][0]["kind"] = "nap"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"incidents\[0\]\.kind"):
        load_truth(path)
    data["incidents"][0].update(kind="empty_post", started_at="2020-11-03T09:33:00")
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="no timezone"):
        load_truth(path)
    path.write_text("{")
    with pytest.raises(InputError, match="cannot read"):
        load_truth(path)
