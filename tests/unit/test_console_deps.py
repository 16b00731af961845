"""The console's dependencies: form models validated after the role check, answered in Chinese when they fail, and
flash messages kept with the login in the store (so any console process shows them, once)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator
from sqlmodel import Session

from monitor.adapters.store.accounts import add_user, open_session, set_flash, take_flash, token_digest
from monitor.adapters.store.database import open_database
from monitor.console.deps import BadForm, Form


class Leave(BaseModel):
    window: str
    ids: list[str] = []
    minutes: int | None = None

    @field_validator("window")
    @classmethod
    def _known(cls, value: str) -> str:
        if value != "A01":
            raise ValueError(f"没有窗口“{value}”")
        return value


async def reads_the_form(request: Request) -> str:
    """Stands where the console's role check reads the bounded form (monitor.console.auth.need)."""
    request.state.form = await request.form()
    return "督查员"


Who = Annotated[str, Depends(reads_the_form)]
LeaveForm = Annotated[Leave, Form(Leave)]


def _app() -> TestClient:
    app = FastAPI()

    @app.exception_handler(BadForm)
    async def _bad(_request: Request, exc: BadForm) -> PlainTextResponse:
        return PlainTextResponse(f"{exc.message}|{exc.back}", status_code=400)

    @app.post("/leave")
    def leave(who: Who, form: LeaveForm) -> dict[str, object]:
        return form.model_dump()

    return TestClient(app)


def test_a_form_model_takes_lists_defaults_and_leaves_the_token_out() -> None:
    client = _app()
    sent = {"window": "A01", "ids": ["i-1", "i-2"], "minutes": "", "csrf": "token"}
    assert client.post("/leave", data=sent).json() == {"window": "A01", "ids": ["i-1", "i-2"], "minutes": None}
    assert client.post("/leave", data={"window": "A01", "ids": "i-1"}).json()["ids"] == ["i-1"]


def test_a_bad_form_says_why_in_chinese_and_goes_back_where_it_came_from() -> None:
    client = _app()
    answer = client.post("/leave", data={"window": "B99"}, headers={"referer": "http://testserver/leave?w=1"})
    assert answer.status_code == 400
    assert answer.text == "未保存：没有窗口“B99”|/leave?w=1"
    answer = client.post("/leave", data={"window": "A01", "minutes": "十"}, headers={"referer": "https://evil/x"})
    assert answer.text.startswith("未保存：") and "应为整数" in answer.text and answer.text.endswith("|/")


def test_a_flash_is_kept_with_the_login_and_shown_once(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'console.db'}")
    now = dt.datetime(2020, 12, 1, 9, tzinfo=dt.UTC)
    with Session(engine) as session:
        add_user(session, "督查员乙", "supervisor", "hash", "test", now)
        open_session(session, "督查员乙", "token", "csrf", "127.0.0.1", now, dt.timedelta(hours=8))
        set_flash(session, token_digest("token"), "ok", "已记录")
        session.commit()
    with Session(engine) as session:  # another request, as another process would read it
        assert take_flash(session, token_digest("token")) == ("ok", "已记录")
        session.commit()
    with Session(engine) as session:
        assert take_flash(session, token_digest("token")) is None
