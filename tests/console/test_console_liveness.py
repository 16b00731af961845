"""Camera services that do not answer, on the board (issue 19).

In a real headless Chromium: a `monitor worker` on a real RTSP camera whose seat is staffed, the recorder and the
console of the hall, a real Mosquitto. Killed with SIGKILL, its window turns 未知 (摄像头服务无响应, since when) on
the open board, without a reload, within offline_after plus the broker's keep-alive; a supervisor alert names the
camera; the day's on-duty rate counts nothing observed after the kill.

In process: the live hall takes the recorder's judgement, and judges alone while the recorder is silent.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from monitor.adapters.store.database import open_database
from monitor.config import MonitorConfig
from monitor.console.live import LiveHall
from monitor.contract import CAMERA_OFFLINE, Alert, CameraLiveness, RecorderHeartbeat, Topics, WindowState
from monitor.core.board import Tile, compose_board
from monitor.services.duty_rate import duty_rates_between
from monitor.tools.streams.encode import D1, StreamFormat
from monitor.tools.streams.rtsp import RtspServer
from tests.support.config import hall_config
from tests.support.console import SUPERVISOR, browser, console_hall, log_in, running_console, wait_until
from tests.support.liveness import CAMERA as SEED_CAMERA
from tests.support.liveness import duty_around_today, history, seed_camera, worker_process
from tests.support.mqtt import Subscriber
from tests.support.video import SEATED_WINDOW, seated_stream
from tests.support.waiting import wait_for

CAMERA = "cam-f03"
WINDOW = "A01"
"""The seed window the fixture camera watches here (the clip's F03, staffed)."""
OFFLINE_AFTER = dt.timedelta(seconds=4)
KEEPALIVE = dt.timedelta(seconds=5)
PRESENCE = {
    "arrive_after": dt.timedelta(seconds=3),
    "leave_after": dt.timedelta(seconds=3),
    "empty_post_after": dt.timedelta(seconds=4),
}


def _tile(driver, window: str) -> tuple[str | None, str]:
    return driver.execute_script(
        "const t = document.querySelector(`[data-window='${arguments[0]}']`);"
        "return t ? [t.dataset.state, t.innerText] : [null, ''];",
        window,
    )


@pytest.mark.mosquitto
@pytest.mark.slow
def test_a_killed_camera_service_turns_its_window_unknown_on_an_open_board(
    tmp_path: Path, mosquitto_url: str, hedong: MonitorConfig
) -> None:
    stream = seated_stream(tmp_path, StreamFormat(D1.width, D1.height, fps=25, gop=25))
    server = RtspServer({"cam": stream})
    fixture = hall_config(tmp_path / "fixture", hall="fixture").config
    camera = next(c for c in fixture.cameras if c.id == CAMERA)
    camera = camera.model_copy(
        update={
            "url": server.url("cam"),
            "offline_after": OFFLINE_AFTER,
            "windows": [z.model_copy(update={"window": WINDOW}) for z in camera.windows if z.window == SEATED_WINDOW],
        }
    )
    hall = console_hall(
        tmp_path / "hall",
        mqtt_url=mosquitto_url,
        mqtt={"keepalive": KEEPALIVE},
        cameras=[camera],
        presence=PRESENCE,
        detector={**fixture.detector.model_dump(), "threads": 1},
        **duty_around_today(hedong.hall.tz),
    )
    config = hall.config
    engine = open_database(config.database.url)
    phone = Subscriber(mosquitto_url, Topics(config.mqtt.topic_prefix).alerts, qos=2)
    with server, running_console(config) as base, browser() as driver:
        log_in(driver, base, SUPERVISOR)
        driver.get(base + "/")
        worker = worker_process(hall.path, CAMERA, tmp_path / "worker.log")
        try:
            wait_until(driver, lambda d: _tile(d, WINDOW)[0] == "present", timeout=150)
            driver.execute_script("window.notReloaded = true;")
            killed = dt.datetime.now(dt.UTC)
            sent = time.monotonic()
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            bound = (OFFLINE_AFTER + KEEPALIVE).total_seconds()
            wait_until(driver, lambda d: _tile(d, WINDOW)[0] == "unknown", timeout=bound + 20)
            delay = time.monotonic() - sent
            print(f"the board showed {WINDOW} 未知 {delay:.1f} s after the kill (bound {bound:g} s)")
            assert delay < bound
            assert driver.execute_script("return window.notReloaded === true;"), "the board was reloaded"
            text = _tile(driver, WINDOW)[1]
            assert "未知" in text and "摄像头服务无响应" in text and "自 " in text, text
            assert f"{camera.place} 离线" in text, text
        finally:
            if worker.poll() is None:
                worker.kill()
        wait_for(lambda: phone.payloads(), what="the supervisors' alert")
    phone.close()
    (alert,) = [Alert.from_json(p) for p in phone.payloads()]
    assert (alert.kind, alert.camera, alert.windows) == (CAMERA_OFFLINE, CAMERA, [WINDOW])
    assert f"{camera.place}摄像头服务无响应" in alert.message
    states = history(engine, WINDOW)
    observed_from = next(since for state, since in states if state in ("present", "absent"))
    assert states[-1][0] == "unknown" and observed_from < states[-1][1] <= killed
    with Session(engine) as session:
        day = duty_rates_between(config, session, observed_from, killed + dt.timedelta(hours=2))
    engine.dispose()
    tally = next(w for w in day.windows if w.window == WINDOW).tally
    assert tally.observed == states[-1][1] - observed_from  # nothing observed after the kill


# --- the live hall, in process ---------------------------------------------------------------------------------


def _live(tmp_path: Path) -> tuple[LiveHall, Topics, MonitorConfig]:
    config = hall_config(tmp_path, cameras=[seed_camera(OFFLINE_AFTER)], **duty_around_today(ZoneInfo("Asia/Shanghai")))
    live = LiveHall(config.config)
    live.connected_now()
    return live, Topics(config.config.mqtt.topic_prefix), config.config


def _board_tile(config: MonitorConfig, live: LiveHall, now: dt.datetime, window: str = "A01") -> Tile:
    board = compose_board(config, live.windows(), live.cameras(now), {}, now)
    return next(t for row in board.rows for t in row.tiles if t.window == window)


def _beat(live: LiveHall, topics: Topics, at: dt.datetime) -> None:
    live.take(topics.recorder_heartbeat, RecorderHeartbeat(instance="h|1|t", at=at, every=10.0).to_json())


def test_the_board_shows_the_recorders_judgement_of_a_camera_service(tmp_path: Path) -> None:
    live, topics, config = _live(tmp_path)
    now = dt.datetime.now(dt.UTC)
    _beat(live, topics, now)
    live.take(topics.camera_status(SEED_CAMERA), b"online", retained=True)
    state = WindowState(window="A01", state="present", since=now - dt.timedelta(hours=1), camera=SEED_CAMERA)
    live.take(topics.window_state("A01"), state.to_json(), retained=True)
    assert _board_tile(config, live, now).state == "present"

    heard = now - dt.timedelta(minutes=3)
    silent = CameraLiveness(camera=SEED_CAMERA, state="silent", heard_at=heard, since=heard, at=now)
    live.take(topics.camera_liveness(SEED_CAMERA), silent.to_json(), retained=True)
    tile = _board_tile(config, live, now)
    assert (tile.state, tile.since, tile.note) == ("unknown", heard, "摄像头服务无响应")
    assert live.services_down(now) == {SEED_CAMERA: heard}
    live.take(topics.camera_liveness(SEED_CAMERA), silent.model_copy(update={"state": "dark"}).to_json())
    assert _board_tile(config, live, now).state == "present"  # its status says that (here: online)


def test_while_the_recorder_is_silent_the_console_judges_the_camera_services_itself(tmp_path: Path) -> None:
    live, topics, config = _live(tmp_path)
    now = dt.datetime.now(dt.UTC)
    _beat(live, topics, now - dt.timedelta(minutes=5))  # stale: the recorder is silent
    live.take(topics.camera_liveness(SEED_CAMERA), b"", retained=True)
    state = WindowState(window="A01", state="present", since=now - dt.timedelta(hours=1), camera=SEED_CAMERA)
    live.take(topics.window_state("A01"), state.to_json(), retained=True)  # retained: said, not heard now
    live.take(topics.camera_status(SEED_CAMERA), b"online", retained=True)
    later = now + OFFLINE_AFTER + dt.timedelta(seconds=1)
    assert _board_tile(config, live, now).state == "present"  # connected just now: not yet offline_after
    tile = _board_tile(config, live, later)
    assert (tile.state, tile.note) == ("unknown", "摄像头服务无响应")
    live.take(topics.camera_stats(SEED_CAMERA), b'{"at": "2026-12-07T10:00:00+08:00", "frames": 5}')
    heard = dt.datetime.now(dt.UTC)
    assert _board_tile(config, live, heard + dt.timedelta(seconds=1)).state == "present"  # heard: it answers
    assert SEED_CAMERA in live.services_down(heard + OFFLINE_AFTER + dt.timedelta(seconds=1))
