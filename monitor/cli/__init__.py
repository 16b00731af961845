"""The `monitor` command: one entry point, a subcommand per job.

Every subcommand module registers itself on `app`; `main()` turns a `MonitorError` into its
message and exit status 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from monitor.cli.context import CliState
from monitor.cli.output import err
from monitor.errors import MonitorError

app = typer.Typer(
    name="monitor",
    help="政务服务中心纪律与视频巡查监测 — discipline and camera inspection monitor for service halls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Rich panels for help and usage errors on a terminal; plain one-line errors when piped.
    rich_markup_mode="rich" if sys.stderr.isatty() else None,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Hall configuration (.toml); default $MONITOR_CONFIG, else embedded."),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option("--site", help="With a district's configuration: the site ([[sites]] id) a command works on."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = CliState(config_file=config, site=site)


def _register() -> None:
    # Imported for their side effect: each module adds its commands to `app`.
    from monitor.cli import bench, console, db, duty, hall, incidents, keys, notices, services, video, zones  # noqa: F401


def main() -> None:
    _register()
    try:
        app()
    except MonitorError as exc:
        err.print(f"[bold red]错误 / error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
