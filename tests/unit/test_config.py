"""The hall's configuration: the seed hall's contents, durations, and errors that name the file, line and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from monitor.config import ConfigError, MonitorConfig, load_config
from monitor.config.hall import expand_window_ids
from monitor.units import format_duration, parse_duration
from tests.support.config import CAMERAS, SUPERVISOR, hall_config
from tests.support.paths import FIXTURE_HALL, SEED_HALL


def test_seed_hall_has_the_notices_departments_and_windows(hedong: MonitorConfig) -> None:
    assert len(hedong.departments) == 27
    assert hedong.departments[0].name == "不动产登记交易中心"
    assert hedong.departments[-1].name == "卫健局"
    assert [d.name for d in hedong.departments if not d.counted_in_totals] == ["临沂市测绘院"]
    ids = [w.id for w in hedong.window_list]
    assert len(ids) == 93
    assert ids[:3] == ["A01", "A02", "A03"] and ids[-9:] == [str(n) for n in range(1, 10)]
    assert "C13" not in ids and "C27" not in ids and "D11" not in ids
    assert hedong.window_by_id["B15"].departments == ("人社局", "医保局")
    assert hedong.window_by_id["B13"].label == "开发区税务局"
    assert hedong.window_by_id["B13"].department == "税务局"
    assert hedong.window_by_id["C09"].label == "税务局、不动产登记交易中心"
    assert hedong.staff_by_window["1"].name == "刘商含"


def test_rule_set_in_force_is_chosen_by_date(hedong: MonitorConfig) -> None:
    later = hedong.rules[0].model_copy(update={"effective": dt.date(2021, 1, 1)})
    config = hedong.model_copy(update={"rules": [hedong.rules[0], later]})
    assert config.rule_set_on(dt.date(2020, 12, 31)).effective == dt.date(2020, 1, 1)
    assert config.rule_set_on(dt.date(2021, 1, 1)).effective == dt.date(2021, 1, 1)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("A01-A03", ["A01", "A02", "A03"]), ("1-3", ["1", "2", "3"]), ("C09", ["C09"]), ("B9-B11", ["B9", "B10", "B11"])],
)
def test_window_ranges(spec: str, expected: list[str]) -> None:
    assert expand_window_ids(spec) == expected


def test_durations() -> None:
    assert parse_duration("90s") == dt.timedelta(seconds=90)
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("250ms") == dt.timedelta(milliseconds=250)
    assert format_duration(dt.timedelta(minutes=90)) == "1h30m"


@pytest.mark.parametrize("bad", ["90", "ten minutes", "", "5 x"], ids=["no-unit", "words", "empty", "bad-unit"])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[hall]\nname = "x"\ntimezone = \n')
    with pytest.raises(ConfigError, match=r"hall.toml: not valid TOML: .*line 3"):
        load_config(path)


def test_unknown_department_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, 'departments = ["税务局"]\nwindows = [{ ids = ["A01"], departments = ["人社局"] }]\n')
    with pytest.raises(ConfigError, match=r"department '人社局' is not in \[departments\]"):
        load_config(path)


def test_typo_and_bad_values_name_key_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[mqtt]\nurl = "http://x"\ntopic_prefx = "a"\n\n[presence]\nlate_grace = "5"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "hall.toml:2: mqtt.url" in message
    assert "hall.toml:3: mqtt.topic_prefx: unknown key" in message
    assert "presence.late_grace: duration '5' has no unit" in message or "late_grace" in message


def test_missing_file_says_how_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file.*MONITOR_CONFIG"):
        load_config(tmp_path / "nope.toml")


def test_cameras_must_watch_known_windows_once(tmp_path: Path) -> None:
    base = 'departments = ["税务局"]\nwindows = [{ ids = ["A01-A02"], departments = ["税务局"] }]\n'
    zone = '{ window = "%s", polygon = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.1, 0.5]] }'
    unknown = base + f'[[cameras]]\nid = "c1"\nurl = "x.mp4"\nwindows = [{zone % "Z9"}]\n'
    with pytest.raises(ConfigError, match=r"cameras\[0\] \(c1\): window 'Z9' is not in \[windows\]"):
        load_config(_write(tmp_path, unknown))
    twice = base + "".join(
        f'[[cameras]]\nid = "{c}"\nurl = "x.mp4"\nwindows = [{zone % "A01"}]\n' for c in ("c1", "c2")
    )
    with pytest.raises(ConfigError, match="window A01 is already watched by camera c1"):
        load_config(_write(tmp_path, twice))


@pytest.mark.parametrize("hall", ["seed", "fixture"])
def test_a_test_hall_is_the_hall_on_the_tests_own_services(hall: str, tmp_path: Path) -> None:
    """The tests' config factory changes only what it says: the rest is the hall's own file, read back."""
    config, path = hall_config(tmp_path, hall=hall, mqtt_url="mqtt://127.0.0.1:1", presence={"arrive_after": "7s"})
    assert load_config(path) == config
    assert config.database.url == f"sqlite:///{tmp_path / 'hall.db'}" and config.mqtt.url == "mqtt://127.0.0.1:1"
    assert config.mqtt.topic_prefix.startswith("test/") and config.paths.data_dir == str(tmp_path)
    assert config.presence.arrive_after == dt.timedelta(seconds=7)
    assert all(Path(c.url).is_absolute() and Path(c.url).is_file() for c in config.cameras)
    # Signed records work: the test supervisor and camera service, with the camera service's key.
    assert [(s.name, s.role) for s in config.signers] == [(SUPERVISOR, "supervisor"), (CAMERAS, "camera")]
    assert config.paths.signing_key == str(tmp_path / "keys" / "cameras.key")
    own = load_config(SEED_HALL if hall == "seed" else FIXTURE_HALL)
    unchanged = {"database", "mqtt", "paths", "notices", "presence", "detector", "cameras", "signers", "recorder"}
    assert config.recorder.model_copy(update={"camera_max_age": own.recorder.camera_max_age}) == own.recorder
    assert config.model_copy(update={name: getattr(own, name) for name in unchanged}) == own
    assert config.presence.model_copy(update={"arrive_after": own.presence.arrive_after}) == own.presence
    assert [
        c.model_copy(update={"url": o.url}) for c, o in zip(config.cameras, own.cameras, strict=True)
    ] == own.cameras
