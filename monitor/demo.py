"""`monitor demo`: the seed hall's November 2020, end to end, on embedded defaults.

An embedded broker, a SQLite file under var/demo/, the recorder, and the four incidents the
November 2020 notice reports (three late arrivals, one empty post) published on MQTT as patrols
would; the month's imported inputs (case volumes, ratings, entered points); then the score sheets
and the notices that result.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from importlib.resources import as_file, files
from pathlib import Path

import paho.mqtt.client as mqtt
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.config import MonitorConfig, load_config
from monitor.contract import Alert, IncidentEvent, Topics, now_utc
from monitor.imports import (
    load_cases_file,
    load_month_inputs,
    load_reviews_file,
    load_scores_file,
    save_cases,
    save_reviews,
    save_scores,
)
from monitor.mqtt.client import connect, disconnect, make_client
from monitor.notices.service import write_notices
from monitor.patrol import patrol_incident, publish
from monitor.recorder import Handled, Recorder
from monitor.runtime import broker_for
from monitor.scoring import EnteredScores, MonthScores, month_bounds, score_month
from monitor.store.database import open_database
from monitor.store.incidents import load_incidents

DEMO_MONTH = "2020-11"
DEMO_WEEK = "2020-W48"  # the week of the empty post
_TZ = dt.timezone(dt.timedelta(hours=8))

# The seed's section 四: 迟到 3 人次 (应急管理局 C20, 临沂市测绘院 C29, 邮政快递 D05), 空岗 1 人次 (卫健局 C25).
SEED_INCIDENTS = (
    ("seed-2020-11-c20", "late_arrival", "C20", dt.datetime(2020, 11, 4, 9, 8, tzinfo=_TZ), 8),
    ("seed-2020-11-c29", "late_arrival", "C29", dt.datetime(2020, 11, 11, 9, 15, tzinfo=_TZ), 15),
    ("seed-2020-11-d05", "late_arrival", "D05", dt.datetime(2020, 11, 19, 13, 41, tzinfo=_TZ), 11),
    ("seed-2020-11-c25", "empty_post", "C25", dt.datetime(2020, 11, 24, 14, 10, tzinfo=_TZ), 40),
)


def seed_events() -> list[IncidentEvent]:
    return [
        patrol_incident(window=window, kind=kind, at=at, minutes=minutes, note="", by="demo").model_copy(
            update={"id": incident_id}
        )
        for incident_id, kind, window, at, minutes in SEED_INCIDENTS
    ]


def seed_hall_config(data_dir: Path) -> MonitorConfig:
    """The seed hall with everything local: SQLite in data_dir, embedded broker on a free port."""
    with as_file(files("monitor") / "halls" / "hedong.toml") as path:
        config = load_config(path)
    return config.model_copy(
        update={
            "database": config.database.model_copy(update={"url": f"sqlite:///{data_dir / 'demo.db'}"}),
            "mqtt": config.mqtt.model_copy(update={"url": "embedded", "embedded_port": 0}),
            "paths": config.paths.model_copy(update={"data_dir": str(data_dir)}),
            "notices": config.notices.model_copy(update={"output_dir": str(data_dir)}),
        }
    )


def _alert_listener(config: MonitorConfig, console: Console) -> mqtt.Client:
    """A supervisor's phone: prints every alert the recorder publishes."""
    client = make_client(config.mqtt, "demo-supervisor")
    client.on_message = lambda _c, _u, m: console.print(
        f"  [yellow]告警[/] {Alert.from_json(m.payload).message}", soft_wrap=True
    )
    connect(client, config.mqtt)
    client.subscribe(Topics(config.mqtt.topic_prefix).alerts, qos=1)
    return client


def import_seed_inputs(config: MonitorConfig, engine: Engine) -> None:
    """What cameras cannot see, as the hall imports it: case volumes (Oct and Nov), ratings, entered points."""
    with as_file(files("monitor") / "halls" / "hedong-2020-11") as folder, Session(engine) as session:
        now = now_utc()
        save_cases(session, "2020-10", load_cases_file(config, folder / "cases-2020-10.csv"), "seed", now)
        save_cases(session, "2020-11", load_cases_file(config, folder / "cases-2020-11.csv"), "seed", now)
        save_reviews(session, "2020-11", load_reviews_file(config, folder / "reviews-2020-11.csv"), "seed", now)
        scores = load_scores_file(config, "2020-11", folder / "scores-2020-11.xlsx")
        save_scores(session, "2020-11", scores, "seed", now)
        session.commit()


def run_demo(data_dir: Path, console: Console, *, timeout: float = 60.0) -> tuple[MonthScores, list[Path]]:
    """Run the demo; the score sheets and the notice files written."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    events = seed_events()
    done = threading.Event()
    handled: list[Handled] = []

    def on_handled(_topic: str, result: Handled) -> None:
        handled.append(result)
        if len(handled) >= len(events):
            done.set()

    with broker_for(seed_hall_config(data_dir)) as config:
        console.print(f"[bold]{config.hall.name}[/] — 演示：2020年11月 纪律巡查及视频监控记录")
        console.print(f"数据目录 {data_dir}；内置 MQTT 服务 127.0.0.1:{config.mqtt.embedded_port}")
        engine = open_database(config.database.url)
        recorder = Recorder(config, engine, on_handled=on_handled)
        supervisor = _alert_listener(config, console)
        recorder.start()
        try:
            publish(config, "incidents", list(events))
            if not done.wait(timeout):
                raise TimeoutError(f"the recorder handled {len(handled)} of {len(events)} incidents in {timeout:.0f}s")
            recorder.deliver_due_alerts()
        finally:
            recorder.stop()
            disconnect(supervisor, config.mqtt)
    import_seed_inputs(config, engine)
    start, end = month_bounds(DEMO_MONTH, config.hall.tz)
    with Session(engine) as session:
        incidents = load_incidents(session, start, end)
        inputs = load_month_inputs(session, config, DEMO_MONTH)
    entered = EnteredScores(departments=inputs.department_points or {}, windows=inputs.window_points or {})
    return score_month(config, DEMO_MONTH, incidents, entered), write_notices(config, engine, DEMO_MONTH, DEMO_WEEK)
