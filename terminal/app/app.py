"""The Textual app: screens for the cashier and the vendor, a camera worker, background sync.

Slow work never runs on the UI thread: the camera, redemptions (up to the online timeout)
and sync each run in a thread worker and post a message back. Sync holds its own SQLite
connection, so it never blocks a redemption.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import get_current_worker

from hardware import (
    CameraError,
    Cooldown,
    FrameSource,
    KeystrokeAssembler,
    QrDecoder,
    ReceiptPrinter,
    Scanner,
    TextPrinter,
    open_source,
)

from ..core.session import TerminalSession
from ..core.staff import Area, Person, may_open
from ..core.words import count
from .messages import CameraChanged, ChangesAnnounced, CodeScanned, ScanSource, SyncFinished
from .screens.history import HistoryScreen
from .screens.pairing import PairingScreen
from .screens.scan import ScanScreen
from .screens.signin import SignInScreen
from .screens.staff import StaffScreen
from .screens.vendor import VendorScreen
from .status import StatusLine, SuspensionNotice

__all__ = ["TillpointApp", "make_app"]

CameraSpec = str | FrameSource | None

NO_CAMERA = "no camera: scan with a USB scanner or type the code"

# The actions of the app's own keys: none of them while a question (Y/N) is on screen,
# nor on the pairing screen (before pairing, none of them would do anything).
TILL_KEYS = frozenset(
    {"open", "explain", "sign_in", "sign_out", "sync_now", "reprint", "no_receipt"}
)
# The screens that show what the person signed in may see and do with the owner's account:
# made afresh for whoever signs in next.
PERSONAL_MODES = ("vendor", "staff")


class TillpointApp(App[None], inherit_bindings=False):  # Textual's own two are below
    CSS_PATH = "tillpoint.tcss"
    TITLE = "Tillpoint"
    ENABLE_COMMAND_PALETTE = False  # keyboard-first: every action has its own key
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "scan": ScanScreen,
        "history": HistoryScreen,
        "vendor": VendorScreen,
        "signin": SignInScreen,
        "staff": StaffScreen,
    }
    # Every way to a screen goes through `open`, which asks who is signed in (core.staff).
    # Each function key has a Ctrl alias for where the key is taken before the till sees
    # it: a browser (F5 reloads, F3 finds), a terminal emulator (F1 help, F10 menu) or an
    # SSH client. The served page keeps all of these for the till (terminal/web). The
    # footer shows each with its alias, all within 80 columns: so not the key of the
    # screen already showing, no key that would only say "sign in first" (its hidden
    # twin, `explain`, still says so), and Quit on the sign-in and pairing screens only
    # (`check_action`).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,ctrl+s", "open('scan')", "Scan", key_display="F1/^s"),
        Binding("f1,ctrl+s", "explain('scan')", show=False),
        Binding("f2,ctrl+l", "open('history')", "History", key_display="F2/^l"),
        Binding("f2,ctrl+l", "explain('history')", show=False),
        Binding("f3,ctrl+b", "open('vendor')", "Vendor", key_display="F3/^b"),
        Binding("f3,ctrl+b", "explain('vendor')", show=False),
        # One key, named for what it does now: with no one signed in, the sign-in screen.
        Binding("f4,ctrl+o", "sign_in", "Sign in", key_display="F4/^o"),
        Binding("f4,ctrl+o", "sign_out", "Sign out", key_display="F4/^o"),
        Binding("f5,ctrl+r", "sync_now(True)", "Sync", key_display="F5/^r"),
        # Shown to everyone, as F3 is: whoever may not open it is told why. Before the
        # focused field, whose Ctrl+K would delete to the end of the line instead.
        Binding("f7,ctrl+k", "open('staff')", "Staff", key_display="F7/^k", priority=True),
        Binding("f7,ctrl+k", "explain('staff')", show=False, priority=True),
        # A receipt again, on the screens that print one: the scan screen's last, the
        # history's picked one (as P). Shown only where there is one; where there is none
        # yet, the hidden twin says so.
        Binding("f8,ctrl+p", "reprint", "Reprint", key_display="F8/^p", priority=True),
        Binding("f8,ctrl+p", "no_receipt", show=False, priority=True),
        # As in every Textual app, on every screen; shown where a day at the till ends.
        Binding("ctrl+q", "quit_till", "Quit", key_display="^q"),
        Binding("ctrl+q", "quit", "Quit", show=False),
        Binding("ctrl+c", "help_quit", show=False, system=True),  # says Ctrl+Q quits
    ]

    def __init__(
        self,
        session: TerminalSession,
        *,
        camera: CameraSpec = None,
        printer: ReceiptPrinter | None = None,
        sync_interval: float = 10.0,
        camera_loop: bool = False,
        scan_cooldown: float = 3.0,
        idle_timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self.scan_cooldown = scan_cooldown
        # Whoever is signed in is signed out after this long without a key, a click or a
        # scan (0: never). Measured on the session's clock, which tests inject.
        self.idle_timeout = timedelta(seconds=idle_timeout)
        self.last_activity = session.clock()
        self.session = session
        self.camera = camera
        self.camera_loop = camera_loop
        self.printer = printer or TextPrinter(session.data.parent / "receipts.txt")
        self.sync_interval = sync_interval
        self.camera_said: str | None = None  # what the camera worker last said of it
        self.camera_trouble = ""  # the whole of why the camera reads nothing, once said
        self.keystrokes = KeystrokeAssembler()
        self.last_sync: SyncFinished | None = None
        self.last_sync_ok: bool | None = None  # a background sync speaks when this changes
        self.last_said = ""  # what the cashier was last told about a sync
        self.camera_started = False
        # The last sync was refused because the owner revoked this till: every screen says
        # so until a sync gets through again (after pairing anew).
        self.revoked = False

    def on_mount(self) -> None:
        self.switch_mode("scan")
        if self.camera is not None:
            self.check_decoder()  # a camera that can read nothing says so from the start
        if not self.session.store.paired():
            self.push_screen(PairingScreen(self.session.server_url or ""), self._paired)
            self._start_camera()  # the owner's pairing QR, held up to it
        else:
            self._start()

    def _paired(self, _: None = None) -> None:
        self._start()

    def _start(self) -> None:
        self.revoked = self.session.status().revoked  # kept from before a restart
        self._ask_who_is_here()
        self.action_sync_now()
        self.set_interval(self.sync_interval, self.action_sync_now)  # when the stream is down
        self.set_interval(1.0, self.sign_out_if_idle)
        self.listen_for_changes()

    # -- who is at the till ---------------------------------------------------------------

    def _refusal(self, area: Area) -> str | None:
        return may_open(area, self.session.signed_in, self.session.store.has_staff())

    def _ask_who_is_here(self) -> None:
        """Once anyone has a PIN, no one uses the till without signing in."""
        session = self.session
        if (
            session.signed_in is None
            and self.current_mode != "signin"
            and session.store.has_staff()
        ):
            self.switch_mode("signin")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Which of the app's keys work, and show in the footer, here and now."""
        pairing = isinstance(self.screen, PairingScreen)
        if action in TILL_KEYS and (self.screen.is_modal or pairing):
            return False  # a question on screen (Y/N) is answered first; pairing comes first
        if action in ("open", "explain"):  # not the screen already showing: the title names it
            if parameters[0] == self.current_mode:
                return False
            # A key that would only say "sign in first" is not shown; `explain` says it.
            only_refused = (
                self.session.signed_in is None
                and self._refusal(Area(str(parameters[0]))) is not None
            )
            return only_refused if action == "explain" else not only_refused
        if action == "sign_in":
            return self.session.signed_in is None and not isinstance(self.screen, SignInScreen)
        if action == "sign_out":
            return self.session.signed_in is not None
        if action in ("reprint", "no_receipt"):
            if not callable(getattr(self.screen, "action_reprint", None)):
                return False
            # The scan screen prints the last receipt kept: none before the first approval.
            kept = not isinstance(self.screen, ScanScreen) or self.session.has_kept_receipt()
            return kept if action == "reprint" else not kept
        if action == "quit_till":  # else Ctrl+Q is the hidden `quit`, the same
            return isinstance(self.screen, SignInScreen) or pairing
        return True

    def action_explain(self, mode: str) -> None:
        """A key not shown because it would only refuse: it says why, as `open` does."""
        self.action_open(mode)

    async def action_no_receipt(self) -> None:
        """F8 before anything was approved here: the screen says there is nothing to print."""
        await self.run_action("screen.reprint")

    def action_open(self, mode: str) -> None:
        """F1, F2, F3: the screen, when whoever is signed in may open it; else why not."""
        refusal = self._refusal(Area(mode))
        if refusal is None:
            self.switch_mode(mode)
            return
        self.notify(refusal, severity="warning", timeout=8, markup=False)
        self._ask_who_is_here()

    async def action_quit_till(self) -> None:
        await self.action_quit()

    async def action_reprint(self) -> None:
        """F8: the screen showing prints its receipt again (`check_action` says which)."""
        await self.run_action("screen.reprint")

    def signed_in(self, person: Person) -> None:
        """The sign-in screen checked a PIN: to the till."""
        self.last_activity = self.session.clock()
        self.notify(f"Signed in: {person.name} ({person.role}).", markup=False)
        self.switch_mode("scan")
        self._forget_personal_screens()
        self.refresh_bindings()
        if self.last_sync_ok is not None:  # the first sync has been tried
            self._start_camera()

    def action_sign_in(self) -> None:
        """F4 with no one signed in: the sign-in screen (PINs, or the owner's account)."""
        self.switch_mode("signin")

    def action_sign_out(self, why: str = "") -> None:
        person = self.session.sign_out()
        self.refresh_bindings()
        if person is None:  # no one was signed in: to the sign-in screen
            self.switch_mode("signin")
            return
        self.notify(f"{person.name} signed out{why}.", markup=False)
        if not self.session.store.has_staff():
            if self.current_mode in ("vendor", "staff", "signin"):
                self.switch_mode("scan")
        else:
            self.switch_mode("signin")
        self._forget_personal_screens()

    def _forget_personal_screens(self) -> None:
        """The vendor and Staff screens are made afresh for whoever is signed in now: the
        Owner and Tills tabs open signed in with the owner's account when that is how the
        owner signed in, and never stay signed in with the last person's (nor keep a
        pairing code shown, or an edit half typed)."""
        for mode in PERSONAL_MODES:
            if mode != self.current_mode:  # never the one showing: signing in or out leaves it
                self.remove_mode(mode)
                self.add_mode(mode, self.MODES[mode])

    def sign_out_if_idle(self) -> None:
        """Sign out whoever left the till alone longer than the idle time-out."""
        if not self.idle_timeout or self.session.signed_in is None:
            return
        if self.session.clock() - self.last_activity >= self.idle_timeout:
            minutes = round(self.idle_timeout.total_seconds() / 60)
            self.action_sign_out(f" after {count(minutes, 'minute')} without use")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded:
            self.last_activity = self.session.clock()
        await super().on_event(event)

    def _follow_staff_changes(self) -> None:
        """After a pull: a new role takes effect, a cleared PIN signs its person out, and
        the first PINs to arrive ask who is at the till."""
        before = self.session.signed_in
        now = self.session.recheck_signed_in()
        if before is not None and now is None:
            self.notify(f"{before.name} can no longer sign in here: signed out.", markup=False)
        elif before is not None and now is not None and now.role != before.role:
            self.notify(f"{now.name} is now {now.role} at this till.", markup=False)
        if now != before:
            self.refresh_bindings()
        if self.current_mode in ("vendor", "staff") and self._refusal(Area(self.current_mode)):
            self.switch_mode("scan")
        if before is not None and now is None:
            self._forget_personal_screens()
        if isinstance(self.screen, SignInScreen):
            self.screen.reload()
        self._ask_who_is_here()

    def _start_camera(self) -> None:
        """While pairing (it reads the pairing code's QR), else after the first sync has
        been tried, so the first card scanned shows the balance this terminal knows, and
        once someone may scan (a sample feed starts at its first card then)."""
        if self._refusal(Area.SCAN) is not None:
            return  # signing in starts it
        if self.camera is not None and not self.camera_started:
            self.camera_started = True
            self.watch_camera()

    # -- sync -----------------------------------------------------------------------

    def action_sync_now(self, asked: bool = False) -> None:
        """Sync in the background; `asked` (F5) always says what happened."""
        if self.session.store.paired():
            self.sync_in_background(asked)
        elif asked:
            self.notify("Not paired yet: pair this till first.", severity="warning", markup=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync")
    def sync_in_background(self, asked: bool = False) -> None:
        summary = None
        try:
            summary = self.session.sync()
            # Kept in the till's database once the server says so; cleared by pairing anew.
            self.revoked = self.session.status().revoked
        finally:
            said = self.session.status().said or ""
            self.session.release()
            # Even after a failure: the app goes on.
            self.post_message(SyncFinished(summary, said, asked))

    @work(thread=True, exclusive=True, exit_on_error=False, group="stream")
    def listen_for_changes(self) -> None:
        """Until the app closes the session: each "changes are waiting" pulls at once."""
        self.session.listen(self._announce_changes)

    def _announce_changes(self) -> None:
        self.post_message(ChangesAnnounced())

    def on_changes_announced(self, _: ChangesAnnounced) -> None:
        self.action_sync_now()

    def on_sync_finished(self, message: SyncFinished) -> None:
        """Say what the sync did when the cashier asked, when it moved anything, or when
        it first failed; then show the lists as they are now."""
        summary = message.summary
        ok = summary is not None
        changed, self.last_sync_ok = ok != self.last_sync_ok, ok
        moved = summary is not None and (summary.pushed or summary.pulled)
        if message.said and (message.asked or moved or changed):
            self.last_said = message.said
            self.notify(message.said, severity="information" if ok else "warning", markup=False)
        if summary is not None:
            self.last_sync = message
            self._follow_staff_changes()
            if isinstance(self.screen, HistoryScreen | VendorScreen):
                self.screen.reload()
        for notice in self.screen.query(SuspensionNotice):  # suspended, or revoked
            notice.refresh_notice()
        for line in self.screen.query(StatusLine):
            line.refresh_status()
        self._start_camera()

    # -- the camera -------------------------------------------------------------------

    @property
    def camera_text(self) -> str:
        """The camera's state for the status line, before it has started too."""
        if self.camera is None:
            return NO_CAMERA
        if self.camera_said is not None:
            return self.camera_said
        name = self.camera if isinstance(self.camera, str) else self.camera.name
        name = Path(name).name or name  # a folder's name, not its whole path
        if self._refusal(Area.SCAN) is not None:
            return f"camera: {name}, on once someone signs in"
        return f"camera: {name}, starting…"

    @work(thread=True, exclusive=True, exit_on_error=False, group="decoder")
    def check_decoder(self) -> None:
        """Whether QR codes can be read at all (a decoder imports), before the camera
        starts: which waits for someone to sign in."""
        try:
            QrDecoder()
        except CameraError as exc:
            self.post_message(CameraChanged(f"camera: {exc.brief}", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="camera")
    def watch_camera(self) -> None:
        worker = get_current_worker()
        camera = self.camera
        try:
            if isinstance(camera, str):
                source = open_source(camera, loop=self.camera_loop, fps=15, hold=45)
            else:
                assert camera is not None
                source = camera
            scanner = Scanner(source, cooldown=Cooldown(self.scan_cooldown))
        except CameraError as exc:
            self.post_message(CameraChanged(f"camera: {exc.brief}", str(exc)))
            return
        name = Path(source.name).name or source.name  # a folder's name, not its whole path
        self.post_message(CameraChanged(f"camera: {name}, looking"))
        try:
            while not worker.is_cancelled:
                sighting = scanner.poll()
                if sighting is None:
                    self.post_message(CameraChanged(f"camera: {name} ended"))
                    return
                for code in sighting.new_codes:
                    self.post_message(CodeScanned(code, ScanSource.CAMERA))
        finally:
            scanner.close()

    def on_camera_changed(self, message: CameraChanged) -> None:
        """The status line has room for the brief state; trouble is said whole, once."""
        self.camera_said = message.text
        if message.trouble and message.trouble != self.camera_trouble:
            self.camera_trouble = message.trouble
            self.log.error(f"camera: {message.trouble}")
            self.notify(
                f"Camera: {message.trouble}.",
                severity="error",
                timeout=30,
                markup=False,
            )

    def on_code_scanned(self, message: CodeScanned) -> None:
        """A code from the camera or a USB scanner. A USB scan is deliberate: it brings the
        scan screen up from anywhere. The camera sees whatever passes in front of it, so it
        only speaks to the scan screen (and the pairing screen) when they are showing."""
        if isinstance(self.screen, PairingScreen):
            self.screen.take_code(message.code)
            return
        if self.current_mode != "scan":
            if message.source is ScanSource.CAMERA:
                return
            refusal = self._refusal(Area.SCAN)
            if refusal is not None:
                self.notify(refusal, severity="warning", markup=False)
                return
            self.switch_mode("scan")
        self.last_activity = self.session.clock()
        screen = self.screen
        if isinstance(screen, ScanScreen):
            screen.take_code(message.code, message.source)

    def on_unmount(self) -> None:
        self.session.close()

    def on_key(self, event: events.Key) -> None:
        """Keys nobody else took: a USB scanner typing while no text field has focus."""
        code = self.keystrokes.feed(event.character or event.key, time.monotonic())
        if code is not None:
            self.post_message(CodeScanned(code, ScanSource.USB_SCANNER))


def make_app(
    data: Path,
    *,
    server_url: str | None = None,
    camera: CameraSpec = None,
    printer: ReceiptPrinter | None = None,
    sync_interval: float = 10.0,
    timeout: float = 3.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    camera_loop: bool = False,
    scan_cooldown: float = 3.0,
    idle_timeout: float = 300.0,
) -> TillpointApp:
    """The app for `tillpoint terminal`, the demo and the tests: one way to build it."""
    session = TerminalSession(data, server_url=server_url, clock=clock, timeout=timeout)
    session.open()  # here, so a file this Tillpoint cannot use stops the command with why
    return TillpointApp(
        session,
        camera=camera,
        printer=printer,
        sync_interval=sync_interval,
        camera_loop=camera_loop,
        scan_cooldown=scan_cooldown,
        idle_timeout=idle_timeout,
    )
