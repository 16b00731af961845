"""Notices and their schedule. (Owned by the notices work: extend freely.)"""

from __future__ import annotations

from pydantic import Field

from monitor.config.base import Section


class NoticesConfig(Section):
    output_dir: str = Field("var", description="Notices are written under <output_dir>/notices/<period>/.")
