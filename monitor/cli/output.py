"""The command's two consoles. Lines are never hard-wrapped (`soft_wrap`): a message piped to a file or
read by a script stays one line whatever the terminal's width; tables still fit the width."""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
