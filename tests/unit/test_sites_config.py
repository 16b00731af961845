"""A district's configuration: its sites as an operator writes them in TOML, each site's view, and the errors that
name the site."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from monitor.cli import _register, app
from monitor.config import ConfigError, MonitorConfig, load_config
from monitor.config.sites import DEFAULT_SITE
from monitor.config.writer import to_toml
from monitor.core.roles import may_site, scope_of, sites_of

KEY_A = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
KEY_B = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="

DISTRICT = f"""\
[hall]
name = "临东区政务服务管理办公室"

[[duty.seasons]]
sessions = [
  {{ name = "上午", start = 09:00:00, end = 12:00:00 }},
  {{ name = "下午", start = 13:30:00, end = 17:00:00 }},
]

[mqtt]
client_id = "lindong"

[paths]
data_dir = "/var/lib/hall-monitor"

[[sites]]
id = "hall"
topic_prefix = "lindong/hall"
[sites.hall]
name = "区政务服务中心"
[[sites.departments]]
name = "行政审批服务局"
[[sites.windows]]
ids = ["A01-A03"]
departments = ["行政审批服务局"]

[[sites]]
id = "xinhe"
topic_prefix = "lindong/xinhe"
signing_key = "/etc/hall-monitor/xinhe-cameras.key"
[sites.hall]
name = "新河镇便民服务中心"
[[sites.departments]]
name = "社保"
[[sites.windows]]
ids = ["1-4"]
departments = ["社保"]
[[sites.staff]]
window = "1"
name = "王芳"
[[sites.cameras]]
id = "xinhe-1"
url = "rtsp://10.2.0.11/stream1"
windows = [{{ window = "1", polygon = [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]] }}]
[[sites.signers]]
name = "cameras-xinhe"
role = "camera"
public_key = "{KEY_A}"
[[sites.duty.seasons]]
sessions = [{{ name = "上午", start = 08:30:00, end = 12:00:00 }}]
[sites.notices]
doc_number_format = "新河便民发〔{{year}}〕{{number}}号"
"""


def _district(tmp_path: Path, text: str = DISTRICT) -> MonitorConfig:
    path = tmp_path / "district.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_district_file_gives_each_site_its_own_hall_and_the_district_the_rest(tmp_path: Path) -> None:
    district = _district(tmp_path)
    assert district.district and list(district.site_views) == ["hall", "xinhe"]
    hall, xinhe = district.site_view("hall"), district.site_view("xinhe")
    assert (hall.site, xinhe.site) == ("hall", "xinhe")
    assert hall.hall.name == "区政务服务中心" and xinhe.hall.name == "新河镇便民服务中心"
    assert [w.id for w in xinhe.window_list] == ["1", "2", "3", "4"]
    assert xinhe.staff_by_window["1"].name == "王芳"
    # Topics, the recorder's session, files and notices are the site's own.
    assert (hall.mqtt.topic_prefix, xinhe.mqtt.topic_prefix) == ("lindong/hall", "lindong/xinhe")
    assert (hall.mqtt.client_id, xinhe.mqtt.client_id) == ("lindong-hall", "lindong-xinhe")
    assert xinhe.paths.data_dir == "/var/lib/hall-monitor/xinhe"
    assert xinhe.paths.signing_key == "/etc/hall-monitor/xinhe-cameras.key"
    assert hall.notices.output_dir.endswith("/hall") and xinhe.notices.output_dir.endswith("/xinhe")
    # Each site numbers its own notices; the rest of [notices] is the district's.
    assert hall.notices.doc_number_format == district.notices.doc_number_format
    assert xinhe.notices.doc_number_format == "新河便民发〔{year}〕{number}号"
    assert xinhe.notices.issuer == district.notices.issuer and xinhe.notices.addressees == district.notices.addressees
    # Duty hours: the district's, unless the site sets its own; the calendar and rules are the district's.
    assert [s.start for s in hall.duty.seasons[0].sessions] == [dt.time(9), dt.time(13, 30)]
    assert [s.start for s in xinhe.duty.seasons[0].sessions] == [dt.time(8, 30)]
    assert xinhe.rules == district.rules and xinhe.calendar == district.calendar
    # A site's camera key is its own signer: the hall's view does not know it.
    assert "cameras-xinhe" in xinhe.signers_by_name and "cameras-xinhe" not in hall.signers_by_name


def test_a_configuration_without_sites_is_one_site_as_before(hedong: MonitorConfig) -> None:
    assert not hedong.district
    assert hedong.site == DEFAULT_SITE
    assert hedong.site_views == {DEFAULT_SITE: hedong}
    assert hedong.site_view(DEFAULT_SITE) is hedong
    with pytest.raises(KeyError):
        hedong.site_view("xinhe")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('id = "xinhe"', 'id = "hall"'), r"sites\[1\] \(hall\): the site id hall is listed twice"),
        (
            lambda t: t.replace('"lindong/xinhe"', '"lindong/hall/xinhe"'),
            r"sites\[1\] \(xinhe\): topic_prefix lindong/hall/xinhe overlaps site hall's lindong/hall",
        ),
        (lambda t: t.replace('id = "xinhe"', 'id = "Xinhe"'), r"a site id is 1 to 32 lowercase letters"),
        (
            lambda t: t.replace('window = "1"\nname = "王芳"', 'window = "9"\nname = "王芳"'),
            r"sites\[1\] \(xinhe\): .*window '9'",
        ),
        (
            lambda t: t.replace(
                '[[sites]]\nid = "hall"',
                f'[[signers]]\nname = "cameras-xinhe"\nrole = "camera"\n'
                f'public_key = "{KEY_B}"\n\n[[sites]]\nid = "hall"',
            ),
            r"signer cameras-xinhe is also the district's",
        ),
        (
            lambda t: t.replace('doc_number_format = "新河便民发〔{year}〕{number}号"', 'issuer = "新河镇人民政府"'),
            r"sites\[1\] \(xinhe\): its notices would be numbered as site hall's .*doc_number_format",
        ),
    ],
    ids=["twice", "overlapping-prefix", "bad-id", "staff-of-unknown-window", "signer-twice", "numbered-alike"],
)
def test_a_district_error_names_the_site(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        _district(tmp_path, change(DISTRICT))


def test_camera_ids_are_unique_in_the_district(tmp_path: Path) -> None:
    text = DISTRICT.replace(
        '[[sites.departments]]\nname = "行政审批服务局"',
        '[[sites.departments]]\nname = "行政审批服务局"\n[[sites.cameras]]\nid = "xinhe-1"\nurl = "rtsp://x/1"\n'
        'windows = [{ window = "A01", polygon = [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]] }]',
    )
    with pytest.raises(ConfigError, match=r"camera xinhe-1 is also site hall's: camera ids are unique"):
        _district(tmp_path, text)


def test_the_commands_ask_for_a_site_of_a_district(tmp_path: Path) -> None:
    path = tmp_path / "district.toml"
    path.write_text(DISTRICT, encoding="utf-8")
    _register()
    chose = CliRunner().invoke(app, ["-c", str(path), "--site", "xinhe", "check-config"])
    assert chose.exit_code == 0, chose.output
    assert "新河镇便民服务中心" in chose.output and "窗口 4 个" in chose.output
    whole = CliRunner().invoke(app, ["-c", str(path), "check-config"])
    assert whole.exit_code == 0, whole.output
    assert "a district of 2 sites" in whole.output and "lindong/xinhe" in whole.output
    for args, said in (
        (["incident", "list", "--month", "2020-11"], "has 2 sites: choose one with --site (hall, xinhe)"),
        (["--site", "dongcheng", "incident", "list", "--month", "2020-11"], "--site dongcheng: not a site of"),
    ):
        result = CliRunner().invoke(app, ["-c", str(path), *args])
        assert result.exit_code != 0 and said in str(result.exception), result.output


@given(site=st.text(max_size=40), prefix=st.text(max_size=40))
def test_any_site_id_or_prefix_is_taken_or_refused_with_a_reason(site: str, prefix: str) -> None:
    """What an operator types as a site's id and prefix: a valid district, or a ConfigError naming the site."""
    text = DISTRICT.replace('id = "xinhe"', f"id = {to_toml({'s': site}).split(' = ', 1)[1].strip()}").replace(
        '"lindong/xinhe"', to_toml({"p": prefix}).split(" = ", 1)[1].strip()
    )
    try:
        district = load_config_text(text)
    except ConfigError as exc:
        assert "sites" in str(exc), str(exc)
    else:
        assert site in district.site_views
        assert district.site_view(site).mqtt.topic_prefix == prefix


def load_config_text(text: str) -> MonitorConfig:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "district.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


def test_an_account_scope_names_its_sites_or_every_site() -> None:
    assert sites_of("") == () and sites_of(" xinhe, hall ,") == ("xinhe", "hall")
    assert scope_of(["xinhe", "hall", "xinhe"]) == "xinhe,hall" and scope_of([]) == ""
    assert may_site("", "xinhe") and may_site("xinhe,hall", "hall") and not may_site("xinhe", "hall")
