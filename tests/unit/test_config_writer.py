"""The configuration written back as TOML (monitor.config.writer) reads back to the same values: whatever text a
value holds (a hall's name, a camera's place), including the characters TOML forbids as they are."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from monitor.config.writer import to_toml


@given(text=st.text(max_size=60), key=st.text(min_size=1, max_size=20))
def test_any_text_reads_back_as_written(text: str, key: str) -> None:
    assert tomllib.loads(to_toml({key: text, "t": {key: [text]}})) == {key: text, "t": {key: [text]}}
