"""The month's inputs (数据导入): upload case volumes, ratings and entered points; every bad row shown, nothing
saved from a file with one."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from monitor.adapters.store.accounts import audit
from monitor.console.auth import Admin, Viewer
from monitor.console.context import address_of, console_of
from monitor.core.periods import check_month
from monitor.errors import InputError
from monitor.services.imports import PART_LABELS, import_file

router = APIRouter()


def _month_now(request: Request) -> str:
    console = console_of(request)
    return console.now().astimezone(console.config.hall.tz).strftime("%Y-%m")


@router.get("/inputs")
def inputs_page(request: Request, who: Viewer) -> Response:
    return console_of(request).page(request, "inputs.html", {"parts": PART_LABELS, "month": _month_now(request)})


@router.post("/inputs")
async def upload(request: Request, who: Admin) -> Response:
    console = console_of(request)
    form = request.state.form
    part, month, upload_file = str(form.get("part", "")), str(form.get("month", "")), form.get("file")
    problems: str | None = None
    if part not in PART_LABELS:
        problems = "请选择导入的数据类型"
    elif not isinstance(upload_file, UploadFile) or not upload_file.filename:
        problems = "请选择要导入的文件（.csv 或 .xlsx）"
    else:
        try:
            check_month(month)
        except InputError:
            problems = f"月份“{month}”格式不对：写作 YYYY-MM，例如 2020-11"
    if problems is not None or not isinstance(upload_file, UploadFile):
        return _show(request, part, month, problems or "", status_code=400)
    name = re.sub(r"[^\w.\-]", "_", Path(upload_file.filename or "upload").name)[-100:] or "upload"
    data = await upload_file.read(console.config.console.upload_bytes + 1)
    if len(data) > console.config.console.upload_bytes:
        limit = console.config.console.upload_bytes // 1024
        return _show(request, part, month, f"{name}：文件超过 {limit} KB，请拆分后导入", status_code=400)
    with tempfile.TemporaryDirectory(prefix="hm-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with Session(console.engine) as session:
            try:
                result = import_file(console.config, session, part, month, path, name, console.now())  # type: ignore[arg-type]
            except InputError as exc:
                message = str(exc).replace(folder + "/", "")
                console.note(request, who.name, "import", "refused", target=f"{month} {part} {name}", detail=message)
                return _show(request, part, month, message, status_code=400)
            audit(  # in the import's transaction: recorded with what it saved, or not at all
                session,
                at=console.now(),
                user=who.name,
                action="import",
                outcome="ok",
                target=f"{month} {part} {name}",
                detail=result.summary,
                address=address_of(request),
            )
            session.commit()
    text = f"{result.summary}（{name}）" + (f"。注意：{result.warning}" if result.warning else "")
    console.flash(who.key, "ok", text)
    return RedirectResponse("/inputs", status_code=303)


def _show(request: Request, part: str, month: str, problems: str, *, status_code: int) -> Response:
    console = console_of(request)
    lines = problems.splitlines()
    return console.page(
        request,
        "inputs.html",
        {"parts": PART_LABELS, "month": month or _month_now(request), "part": part, "problems": lines},
        status_code=status_code,
    )
