"""The console's section: which reverse proxies are believed (`trusted_proxies`), checked when the file is read."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config
from monitor.config.console import ConsoleConfig


def test_no_proxy_is_trusted_unless_named() -> None:
    assert ConsoleConfig().trusted_proxies == []


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text('[console]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "::1"]\n', encoding="utf-8")
    proxies = load_config(path).console.trusted_proxies
    assert [str(p) for p in proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert ip_address("10.20.30.40") in proxies[1] and ip_address("127.0.0.2") not in proxies[0]


@pytest.mark.parametrize("bad", ["nginx", "10.0.0.1/8", "300.1.1.1"], ids=["name", "host-bits", "out-of-range"])
def test_a_bad_trusted_proxy_names_the_key_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(f'[console]\nport = 8080\ntrusted_proxies = ["{bad}"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hall.toml:3: console.trusted_proxies"):
        load_config(path)
