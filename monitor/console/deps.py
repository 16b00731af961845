"""The console's FastAPI dependencies: the console itself, a database session per request, and form models.

Pages declare what they need as parameters, as FastAPI's own documentation writes them:

    @router.post("/leave")
    def leave_add(who: Supervisor, console: ConsoleDep, form: Annotated[LeaveForm, Form(LeaveForm)]) -> Response:

`who` (monitor.console.auth: Viewer, Supervisor, Admin) comes first: it checks the role from the session cookie
before the body is read, bounds the body and checks the CSRF token; the form model is then validated from the form
it read. A form that does not validate is answered by `BadForm`: the reason in Chinese as a flash message on the
page the form came from (the app's handler), never a page of English field errors.
"""

from __future__ import annotations

import types
import typing
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from monitor.console.context import Console, console_of, district_of
from monitor.console.params import validation_message

M = TypeVar("M", bound=BaseModel)

ConsoleDep = Annotated[Console, Depends(console_of, use_cache=False)]
"""The console of the request's site: its configuration, store, live hall, key and templates. Asked afresh each time
(not cached for the request): the login's dependency (`who`, first in a page's parameters) chooses the site, and
what is asked after it must be that site's."""


def database(request: Request, console: ConsoleDep) -> Iterator[Session]:
    """One database session for the request, closed when the request is done; a page commits what it writes.

    On SQLite every transaction takes the write lock (BEGIN IMMEDIATE, monitor.adapters.store.database), so the
    request's transaction must be over before the console opens one of its own (the audit entry, the flash message):
    it is kept on the request, and `Console.page` and `Console.note` end it first (`settle`)."""
    with Session(console.engine) as session:
        request.state.db = session
        yield session


Db = Annotated[Session, Depends(database, scope="function")]
"""The request's database session, closed as soon as the page's function returns (scope "function"), not after
the response is sent: on SQLite its transaction holds the write lock, which a clip sent to a slow browser would
otherwise keep from the recorder."""


def district_database(request: Request) -> Iterator[Session]:
    """A database session for the request that sees every site (`database` sees the request's site only): for what
    is the district's, not one site's — the accounts, and the audit entries about them, each kept under its account's
    site (monitor.services.audit_log.entry_site) whatever site the page is on."""
    with Session(district_of(request).engine) as session:
        request.state.db = session
        yield session


DistrictDb = Annotated[Session, Depends(district_database, scope="function")]
"""The request's database session over every site (`district_database`), closed when the page's function returns."""


class BadForm(Exception):
    """A submitted form that does not validate: `message` says what is wrong, in Chinese; the person is sent back to
    `back` (the page the form was on) with it."""

    def __init__(self, message: str, back: str) -> None:
        super().__init__(message)
        self.message = message
        self.back = back


def came_from(request: Request, default: str = "/") -> str:
    """The path (and query) of the console page the request came from, by its Referer when that is this site's;
    `default` otherwise."""
    referer = urllib.parse.urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return default
    path = referer.path
    if not path.startswith("/") or path.startswith("//"):
        return default
    return path + (f"?{referer.query}" if referer.query else "")


KEPT_LENGTH = 400
"""The most characters of one typed value carried back to the form (the longest field a form takes)."""


def back_with(request: Request, back: str, keep: Sequence[str]) -> str:
    """`back` (a path, maybe with a query) with the values the request's form sent under the names in `keep` put in
    its query, replacing any there, so the page shows the form as it was typed after a refusal instead of blank.
    The CSRF token is never kept; each value is cut to KEPT_LENGTH characters."""
    form: FormData | None = getattr(request.state, "form", None)
    if form is None or not keep:
        return back
    path, _, query = back.partition("?")
    names = [name for name in keep if name != "csrf"]
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k not in names]
    for name in names:
        pairs += [(name, value[:KEPT_LENGTH]) for value in form.getlist(name) if isinstance(value, str) and value]
    return f"{path}?{urllib.parse.urlencode(pairs)}" if pairs else path


def Form(model: type[M], *, prefix: str = "未保存：", keep: Sequence[str] = ()) -> Any:
    """A dependency that validates the request's form into `model`: fields left empty take their defaults, a field
    the model types as a list takes every value sent under its name, the CSRF token is left out. Must follow a role
    dependency (Viewer, Supervisor, Admin), which reads the form; BadForm (`prefix` + the Chinese reason) when it
    does not validate, back to the page it came from with the fields named in `keep` as typed (`back_with`)."""
    lists = {name for name, field in model.model_fields.items() if _is_list(field.annotation)}

    def parse(request: Request) -> M:
        form: FormData | None = getattr(request.state, "form", None)
        if form is None:
            raise RuntimeError("a form model must follow the role dependency that reads the form")
        values: dict[str, object] = {}
        for key in dict.fromkeys(k for k, _ in form.multi_items()):
            if key == "csrf":
                continue
            sent = [v for v in form.getlist(key) if not (isinstance(v, str) and v == "")]
            if key in lists:
                values[key] = sent
            elif sent:
                values[key] = sent[-1]
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            reason = validation_message(exc.errors()).removeprefix("请求参数有误：")
            raise BadForm(prefix + reason, back_with(request, came_from(request), keep)) from None

    return Depends(parse)


def _is_list(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False
