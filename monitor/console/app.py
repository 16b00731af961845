"""The console's web application: its pages, its static files, its answers to a missing login or a refusal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.console.auth import LOGIN_PATH, Forbidden, LoginRequired, TooLarge, current, login_redirect
from monitor.console.auth import router as auth_router
from monitor.console.context import STATIC, Console, District, console_of
from monitor.console.deps import BadForm
from monitor.console.pages import admin, board, cameras, district, duty, duty_rate, exports, incidents, inputs, reports
from monitor.console.params import BadParameter, periods_checked, validation_message
from monitor.console.sites import OtherSite, remember
from monitor.errors import CalendarError

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

log = logging.getLogger(__name__)


def create_app(served: Console | District) -> FastAPI:
    """The console's application for one hall's console, or a district's (every site; the overview and the site
    switcher only there)."""
    sites = served if isinstance(served, District) else District.of(served)
    app = FastAPI(
        title="政务服务中心纪律与视频巡查监测",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(periods_checked)],  # no page ignores an invalid period (static files are not routes)
    )
    app.state.district = sites
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (board, exports, incidents, duty, duty_rate, inputs, reports, cameras, admin):
        app.include_router(module.router)
    if sites.several:
        app.include_router(district.router)
    app.include_router(auth_router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return console_of(request).page(request, "error.html", {"message": exc.message}, status_code=403)

    @app.exception_handler(OtherSite)
    async def _other_site(request: Request, exc: OtherSite) -> Response:
        """Another site, or another site's record: the login's own site's error page says which it may see."""
        return console_of(request).page(request, "error.html", {"message": exc.message}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """A query or path parameter out of range or malformed (params.py): the reason in Chinese, 400."""
        return _error(request, validation_message(exc.errors()), 400)

    @app.exception_handler(BadParameter)
    async def _bad(request: Request, exc: BadParameter) -> Response:
        """A parameter a page, or the app-wide period check (which runs before the page reads the login), refused:
        the login first, as on any page, then the reason for the person logged in."""
        if getattr(request.state, "who", None) is None:
            try:
                await run_in_threadpool(current, request, console_of(request))
            except LoginRequired:
                if request.url.path != LOGIN_PATH:
                    return login_redirect(request)
            except OtherSite as refused:
                return _error(request, refused.message, 403)
            except BadParameter:
                pass  # a site the district does not have: the period's reason is the one asked about
        return _error(request, f"请求参数有误：{exc}", 400)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, exc: BadForm) -> Response:
        """A form that did not validate: back to the page it came from, which says why."""
        who = getattr(request.state, "who", None)
        if who is None:
            return _error(request, exc.message, 400)
        await run_in_threadpool(console_of(request).flash, request, "error", exc.message)
        return RedirectResponse(exc.back, status_code=303)

    @app.exception_handler(CalendarError)
    async def _no_calendar(request: Request, exc: CalendarError) -> Response:
        """A page over days the calendar cannot judge (a year whose holidays nobody entered): said for the reader, not
        in the configuration's words; the operator's log has those."""
        log.warning("console: %s", exc)
        if exc.year is not None:
            message = f"{exc.year}年的节假日和调休安排尚未录入，无法判断哪些天上班：请管理员补充该年的工作日历后再查看"
        else:
            message = "值班时段设置有误，无法判断上班时间：请管理员检查值班时段设置"
        return _error(request, message, 503)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> Response:
        return _error(request, exc.message, 413)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = "页面不存在" if exc.status_code == 404 else f"请求无法完成（{exc.status_code}）"
        return console_of(request).page(request, "error.html", {"message": message}, status_code=exc.status_code)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        remember(request, response)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _error(request: Request, message: str, status_code: int) -> Response:
    """The console's error page (error.html) with `message`, for the person logged in when there is one."""
    return console_of(request).page(request, "error.html", {"message": message}, status_code=status_code)
