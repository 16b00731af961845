"""The month's inputs (数据导入): upload case volumes, ratings and entered points; every bad row shown as the clerk
finds it in the file (第4行第2列（行政审批）：…), nothing saved from a file with one."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.datastructures import UploadFile

from monitor.adapters.store.accounts import audit
from monitor.console.auth import Admin, Viewer
from monitor.console.context import Console, address_of
from monitor.console.deps import ConsoleDep, Db, Form
from monitor.core.periods import check_month, month_words
from monitor.errors import InputError
from monitor.services.imports import PART_LABELS, Part, import_file

router = APIRouter()


class ImportForm(BaseModel):
    """The upload: what the file holds, for which month, and the file."""

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_default=True)

    part: str = ""
    month: str = ""
    file: Any = None

    @field_validator("part")
    @classmethod
    def _part(cls, value: str) -> str:
        if value not in PART_LABELS:
            raise ValueError("请选择导入的数据类型（" + "、".join(PART_LABELS.values()) + "）")
        return value

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        try:
            return check_month(value.strip())
        except InputError:
            raise ValueError(f"月份“{value.strip()[:24]}”格式不对：写作 年-月，例如 2020-11") from None

    @field_validator("file")
    @classmethod
    def _file(cls, value: object) -> UploadFile:
        if not isinstance(value, UploadFile) or not value.filename:
            raise ValueError("请选择要导入的文件（.csv 或 .xlsx）")
        return value


def _month_now(console: Console) -> str:
    return console.now().astimezone(console.config.hall.tz).strftime("%Y-%m")


@router.get("/inputs")
def inputs_page(request: Request, who: Viewer, console: ConsoleDep) -> Response:
    return console.page(request, "inputs.html", {"parts": PART_LABELS, "month": _month_now(console)})


@router.post("/inputs")
def upload(
    request: Request,
    who: Admin,
    console: ConsoleDep,
    session: Db,
    form: Annotated[ImportForm, Form(ImportForm, prefix="未导入：")],
) -> Response:
    """Parse and save the file (in a worker thread: parsing and saving block); its form was read, and its size
    bounded, by the role check (auth.need)."""
    part: Part = form.part  # type: ignore[assignment]
    month, upload_file = form.month, form.file
    name = re.sub(r"[^\w.\-]", "_", Path(upload_file.filename or "upload").name)[-100:] or "upload"
    data = upload_file.file.read(console.config.console.upload_bytes + 1)
    if len(data) > console.config.console.upload_bytes:
        limit = console.config.console.upload_bytes // 1024
        return _show(request, console, part, month, f"{name}：文件超过 {limit} KB，请拆分后导入", status_code=400)
    target = f"{month_words(month)}{PART_LABELS[part]}（{name}）"
    with tempfile.TemporaryDirectory(prefix="hm-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            result = import_file(console.config, session, part, month, path, name, console.now())
        except InputError as exc:
            session.rollback()  # all or nothing: the audit entry's commit (Console.note) must not save part of it
            message = str(exc).replace(folder + "/", "")
            console.note(request, who.name, "import", "refused", target=target, detail=message)
            return _show(request, console, part, month, message, status_code=400)
        audit(  # in the import's transaction: recorded with what it saved, or not at all
            session,
            at=console.now(),
            user=who.name,
            action="import",
            outcome="ok",
            target=target,
            detail=result.summary,
            address=address_of(request),
        )
        session.commit()
    text = f"{result.summary}（{name}）" + (f"。注意：{result.warning}" if result.warning else "")
    console.flash(request, "ok", text)
    return RedirectResponse("/inputs", status_code=303)


def _show(request: Request, console: Console, part: str, month: str, problems: str, *, status_code: int) -> Response:
    return console.page(
        request,
        "inputs.html",
        {"parts": PART_LABELS, "month": month, "part": part, "problems": problems.splitlines()},
        status_code=status_code,
    )
