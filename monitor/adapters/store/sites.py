"""Every record keyed by its site, and every session kept to one site: SQLAlchemy's global criteria, not a filter
each query must remember.

A site's services open their sessions on `for_site(engine, site)`: an engine sharing the pool, marked with the site.
Every ORM statement such a session runs (SELECT, and ORM-enabled UPDATE and DELETE) gets `site = <the site>` on each
site-keyed table it touches (`with_loader_criteria`, the recipe of SQLAlchemy's "Adding global WHERE criteria"), and
every site-keyed row it adds is stamped with the site before it is flushed. A session on an unmarked engine (a
single hall's, the migrations', the district's overview) sees every site and writes `DEFAULT_SITE`.

The incident's children (its events, evidence, review) are reached only through their incident, whose id is unique in
the district; accounts and logins are the district's, scoped by their own `sites` (monitor.core.roles).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.util import find_tables
from sqlmodel import Field, SQLModel

from monitor.config.sites import DEFAULT_SITE

SITE_OPTION = "monitor_site"


class SiteKeyed(SQLModel):
    """A table whose rows belong to one site: the mixin the criteria name."""

    site: str = Field(default=DEFAULT_SITE, max_length=32, index=True, description="The site the record is of.")


def for_site(engine: Engine, site: str) -> Engine:
    """`engine` for one site's sessions: the same pool and connections, every session on it kept to `site`."""
    return engine.execution_options(**{SITE_OPTION: site})


def site_of_engine(engine: Any) -> str | None:
    """The site an engine is kept to; None for an unmarked one."""
    options = engine.get_execution_options() if isinstance(engine, Engine) else {}
    site = options.get(SITE_OPTION)
    return site if isinstance(site, str) else None


def site_of(session: Session) -> str | None:
    """The site a session is kept to, by its engine; None for a session that sees every site."""
    return site_of_engine(session.bind)


@event.listens_for(Session, "do_orm_execute")
def _only_the_site(state: ORMExecuteState) -> None:
    site = site_of(state.session)
    if site is None or state.is_column_load or state.is_relationship_load:
        return
    named = {table.name for table in find_tables(state.statement, include_joins=True, include_crud=True)}
    state.statement = state.statement.options(*(c for name, c in _criteria(site) if name in named))


@functools.cache
def _criteria(site: str) -> tuple[tuple[str, LoaderCriteriaOption], ...]:
    """One criterion per site-keyed table, by the table's name (the mixin is a pydantic model with no column of its
    own to name in a single one), made once per site: the statement cache then knows them."""
    return tuple(
        (table.__tablename__, with_loader_criteria(table, table.site == site, include_aliases=True))  # type: ignore[attr-defined]
        for table in SiteKeyed.__subclasses__()
    )


@event.listens_for(Session, "before_flush")
def _stamp_the_site(session: Session, _context: object, _instances: object) -> None:
    site = site_of(session)
    if site is None:
        return
    for row in session.new:
        if isinstance(row, SiteKeyed):
            row.site = site
