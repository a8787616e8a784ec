"""`tillpoint terminal --serve`: the same Textual app in a browser, behind a sign-in.

textual-serve does the serving: each browser connection starts the terminal's own command
(`tillpoint terminal --data …`) with Textual's web driver and relays its screen over a
websocket. In front of its handlers sit the sign-in (an access code, then a session cookie),
an Origin check on the websocket, and one rule of the till: one app on the terminal's data at
a time — a newer tab takes over once the older one's app has quit. The page is our own, so it
loads nothing from elsewhere and keeps the keys the till uses (F5 above all) from the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from .sign_in import SignIn, TooManyTriesError

__all__ = ["COOKIE", "DEFAULT_PORT", "WebTerminal"]

log = logging.getLogger("tillpoint.terminal.web")

COOKIE = "tillpoint_terminal"
DEFAULT_PORT = 8080
TEMPLATES = Path(__file__).parent / "templates"
OPEN_PATHS = frozenset({"/sign-in", "/healthz"})  # everything else needs a session
SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",  # no page frames the till's keys
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
WRONG_CODE = (
    "That is not the access code. It was printed where the terminal was started "
    "(tillpoint terminal --serve): type it as shown there."
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TillApp(AppService):
    """One browser tab's app process, which quits for good: textual-serve's `stop()` returns
    once the app closes its output; this also waits for the process to end (or ends it), so
    no app outlives its tab or the server."""

    async def quit(self, patience: float = 10) -> None:
        process = self._process
        try:
            await asyncio.wait_for(self.stop(), patience)
        except TimeoutError:
            log.warning("the till's app did not quit within %s seconds: ending it", patience)
        if process is None:
            return
        if process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), patience)
            except TimeoutError:
                process.kill()
                await process.wait()


class WebTerminal(Server):
    """textual-serve's server with the till's sign-in in front of it."""

    def __init__(
        self,
        command: str,
        sign_in: SignIn,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        public_url: str | None = None,
    ) -> None:
        super().__init__(
            command,
            host=host,
            port=port,
            title="Tillpoint",
            public_url=public_url,
            templates_path=TEMPLATES,
        )
        self.sign_in = sign_in
        self.given_public_url = public_url.rstrip("/") if public_url else None
        self.live: asyncio.Task[Any] | None = None  # the tab whose app is in use
        self.tabs: set[asyncio.Task[Any]] = set()  # every open tab's handler
        self.quitting: set[asyncio.Task[None]] = set()  # apps of closed tabs, quitting

    def make_app(self) -> web.Application:
        """The aiohttp application: the sign-in, then textual-serve's page and websocket."""

        @web.middleware
        async def signed_in_only(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._signed_in_only(request, handler)

        app = web.Application(middlewares=[signed_in_only])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, name="static"),
                web.get("/sign-in", self.show_sign_in),
                web.post("/sign-in", self.take_sign_in),
                web.post("/sign-out", self.take_sign_out),
                web.get("/healthz", self.healthz),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    def run(self, started: Callable[[], None]) -> None:
        """Serve until Ctrl+C (or SIGTERM); `started` is called once the port is open."""
        web.run_app(
            self.make_app(),
            host=self.host,
            port=self.port,
            print=lambda _: started(),
            access_log=None,
            shutdown_timeout=5,
        )

    # -- the sign-in -----------------------------------------------------------------

    async def _signed_in_only(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or self.sign_in.knows(request.cookies.get(COOKIE)):
            response = await handler(request)
        elif request.method == "GET" and request.path == "/":
            response = _see_other("/sign-in")
        else:
            response = web.Response(
                status=401, text="Sign in first: open this address's / page and type the code."
            )
        if not response.prepared:  # a websocket has sent its headers already
            response.headers.update(SECURITY_HEADERS)
        return response

    async def show_sign_in(self, request: web.Request) -> web.StreamResponse:
        if self.sign_in.knows(request.cookies.get(COOKIE)):
            return _see_other("/")
        return self._sign_in_page(request, "")

    async def take_sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        code = form.get("code")
        try:
            session = self.sign_in.try_code(code if isinstance(code, str) else "")
        except TooManyTriesError as exc:
            return self._sign_in_page(request, str(exc), status=429)
        if session is None:
            log.warning("terminal sign-in: a wrong access code from %s", request.remote)
            return self._sign_in_page(request, WRONG_CODE, status=401)
        response = _see_other("/")
        response.set_cookie(
            COOKIE,
            session,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self._origin(request).startswith("https:"),
        )
        return response

    async def take_sign_out(self, request: web.Request) -> web.StreamResponse:
        self.sign_in.sign_out(request.cookies.get(COOKIE))
        response = _see_other("/sign-in")
        response.del_cookie(COOKIE, path="/")
        return response

    def _sign_in_page(self, request: web.Request, message: str, status: int = 200) -> web.Response:
        return aiohttp_jinja2.render_template(
            "sign_in.html", request, {"message": message}, status=status
        )

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    # -- the terminal ----------------------------------------------------------------

    def _origin(self, request: web.Request) -> str:
        """Where the browser reaches us: --public-url behind a proxy, else what it asked for."""
        return self.given_public_url or f"{request.scheme}://{request.host}"

    @aiohttp_jinja2.template("index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        origin = self._origin(request)
        scheme, _, rest = origin.partition(":")
        return {
            "title": self.title,
            "static_url": f"{origin}/static/",
            "websocket_url": f"{'wss' if scheme == 'https' else 'ws'}:{rest}/ws",
            "font_size": _font_size(request.query.get("fontsize", "")),
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        # The session cookie is SameSite=Strict already; a page of another site cannot
        # open the till's websocket even if a browser sent it.
        if request.headers.get("Origin", self._origin(request)) != self._origin(request):
            raise web.HTTPForbidden(text="This terminal only answers its own page.")
        this = asyncio.current_task()
        assert this is not None
        # One app on the terminal's data (and camera) at a time: the older tab ends, and
        # its app has quit before this one's starts.
        if self.live is not None:
            self.live.cancel()
        self.live = this
        older = set(self.tabs)
        self.tabs.add(this)
        websocket = web.WebSocketResponse(heartbeat=15)
        app: TillApp | None = None
        try:
            if older:
                await asyncio.wait(older)
            if self.quitting:
                await asyncio.wait(set(self.quitting))
            await websocket.prepare(request)

            async def app_quit() -> None:  # Ctrl+Q: the tab says its session ended
                await websocket.close()

            app = TillApp(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=app_quit,
                download_manager=self.download_manager,
            )
            width = _cells(request.query.get("width"), 80)
            await app.start(width, _cells(request.query.get("height"), 24))
            with contextlib.suppress(asyncio.CancelledError):  # a newer tab, or Ctrl+C
                await self._process_messages(websocket, app)
        finally:
            self.tabs.discard(this)
            if self.live is this:
                self.live = None
            if app is not None:
                # In a task of its own: a second cancel of this handler (aiohttp's, when the
                # connection goes) must not leave the app running; shutdown waits for it.
                quitting = asyncio.create_task(_quit(app, websocket))
                self.quitting.add(quitting)
                quitting.add_done_callback(self.quitting.discard)
                await asyncio.shield(quitting)
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C: the open tab's app is told to quit, and every app is waited for."""
        if self.live is not None:
            self.live.cancel()
        if self.tabs:
            await asyncio.wait(set(self.tabs), timeout=30)
        if self.quitting:
            await asyncio.wait(set(self.quitting), timeout=30)


async def _quit(app: TillApp, websocket: web.WebSocketResponse) -> None:
    await app.quit()
    await websocket.close()


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _cells(text: str | None, default: int) -> int:
    try:
        return min(max(int(text or default), 10), 1000)
    except ValueError:
        return default


def _font_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        return 16
    return min(max(size, 8), 48)
