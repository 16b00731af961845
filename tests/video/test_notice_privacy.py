"""Citizens' faces go to no window: a real evidence picture (a fixture frame with a citizen at the counter, through
the real detector and `annotate`) in a weekly notice written by `monitor notice weekly` has its camera's citizen side
blurred and its staff side as taken; the stored picture keeps its signed bytes."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import cv2
import numpy as np
from sqlmodel import Session, select
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow
from monitor.adapters.video.annotate import annotate, encode_jpeg
from monitor.adapters.video.source import grab_frame
from monitor.adapters.video.zones import exclusion_zones, read_seats, seat_zones
from monitor.cli import _register, app
from monitor.config import MonitorConfig
from monitor.core.evidence import parse_picture, picture_name
from monitor.services.pipeline import find_camera
from tests.support.config import hall_config
from tests.support.notices import at, incident, insert_incidents
from tests.support.video import detector


def _evidence(config: MonitorConfig, camera_id: str, offset: dt.timedelta, taken: dt.datetime) -> bytes:
    """The picture a camera service sends, of the clip's frame at `offset`."""
    camera = find_camera(config, camera_id)
    image = grab_frame(camera, offset=offset, timeout=camera.offline_after)
    found = detector().detect(image)
    zones, exclusions = seat_zones(camera), exclusion_zones(camera)
    readings = read_seats(found, zones, exclusions, image.shape, min_overlap=camera.min_overlap)
    name = picture_name("threshold", taken)
    picture = annotate(
        image,
        place=camera.place,
        at=taken,
        zones=zones,
        exclusions=exclusions,
        detections=found,
        readings=readings,
        states={"F05": "absent"},
        caption=f"F05窗口 {parse_picture(name).caption(config.hall.tz)}",
    )
    return encode_jpeg(picture)


def _photos(docx: Path) -> list[np.ndarray]:
    with zipfile.ZipFile(docx) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith("word/media/"))
        return [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_COLOR) for n in names]


def _spread(image: np.ndarray, rows: slice) -> float:
    """How much fine detail (edges, texture, features) `rows` of `image` show: the spread of the Laplacian."""
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)[rows].std())


def test_a_notice_photo_has_the_citizen_side_blurred_and_the_staff_side_as_taken(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path, hall="fixture")
    engine = open_database(config.database.url)
    # citizen_at_counter.mp4 at 09:35: F05's seat empty, a citizen standing at its counter.
    taken = at("2020-11-03 09:35:00")
    stored = _evidence(config, "cam-f05", dt.timedelta(minutes=5), taken)
    row = incident("inc-f05", "empty_post", "F05", "测试部门", "2020-11-03 09:33", 7)
    row.source = "camera:cam-f05"
    gone = incident("inc-gone", "empty_post", "F06", "测试部门", "2020-11-04 10:00", 20)
    gone.source = "camera:cam-removed"  # a camera taken out of the configuration since
    insert_incidents(engine, [row, gone])
    name = picture_name("threshold", taken)
    with Session(engine) as session:
        for incident_id in ("inc-f05", "inc-gone"):
            session.add(EvidenceRow(incident_id=incident_id, name=name, data=stored, received_at=taken))
        session.commit()
    _register()
    result = CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-W45"])
    assert result.exit_code == 0, result.output
    photos = _photos(tmp_path / "out" / "notices" / "2020-W45" / "weekly-2020-W45.docx")
    assert len(photos) == 2
    kept = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR)
    height = kept.shape[0]
    # The camera's citizen side (y 0.8-1.0) is blurred: the citizen's legs and the floor's pattern are gone.
    citizens = slice(round(0.8 * height) + 3, height - 2)
    staff = slice(round(0.25 * height), round(0.65 * height))  # the seat, the counter and the citizen's torso
    photo = next(p for p in photos if p.shape == kept.shape and _spread(p, staff) > 0.5 * _spread(kept, staff))
    assert _spread(kept, citizens) > 15
    assert _spread(photo, citizens) < 0.15 * _spread(kept, citizens)
    assert abs(_spread(photo, staff) - _spread(kept, staff)) < 0.1 * _spread(kept, staff)
    assert np.abs(photo[staff].astype(int) - kept[staff]).mean() < 4  # a JPEG's loss, nothing more
    # The camera no longer configured: where its citizens stood is unknown, the whole picture is blurred.
    whole = next(p for p in photos if p is not photo)
    assert _spread(whole, staff) < 0.5 * _spread(kept, staff)
    # The stored picture keeps the bytes its incident signed.
    with Session(engine) as session:
        assert {bytes(r.data) for r in session.exec(select(EvidenceRow)).all()} == {stored}


def test_the_notice_photos_are_the_same_bytes_every_time(tmp_path: Path) -> None:
    """Blurring is deterministic: regenerating an unchanged notice changes no file."""
    config, path = hall_config(tmp_path, hall="fixture")
    engine = open_database(config.database.url)
    taken = at("2020-11-03 09:35:00")
    row = incident("inc-f05", "empty_post", "F05", "测试部门", "2020-11-03 09:33", 7)
    row.source = "camera:cam-f05"
    insert_incidents(engine, [row])
    with Session(engine) as session:
        data = _evidence(config, "cam-f05", dt.timedelta(minutes=5), taken)
        session.add(
            EvidenceRow(incident_id="inc-f05", name=picture_name("threshold", taken), data=data, received_at=taken)
        )
        session.commit()
    _register()
    docx = tmp_path / "out" / "notices" / "2020-W45" / "weekly-2020-W45.docx"
    assert CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-W45"]).exit_code == 0
    first = docx.read_bytes()
    docx.unlink()
    assert CliRunner().invoke(app, ["-c", str(path), "notice", "weekly", "--week", "2020-W45"]).exit_code == 0
    assert docx.read_bytes() == first
