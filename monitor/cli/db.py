"""`monitor db upgrade`: bring the store's schema to this version's (Alembic), before the services start."""

from __future__ import annotations

import typer
from sqlalchemy import text

from monitor.adapters.store.database import open_database
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out

db_app = typer.Typer(help="The store: its schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """升级数据库结构 — apply the schema migrations this version brings (every service also does on start)."""
    config = state(ctx).district
    engine = open_database(config.database.url)
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    out.print(f"[green]✓[/] 数据库结构为最新版本 {revision}（{engine.url.render_as_string(hide_password=True)}）")
