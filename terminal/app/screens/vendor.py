"""The vendor's screens: products (editable offline, through the outbox), deals, branches,
the offline limits the terminal works to, what sync refused or flagged, the owner's tab
(terminals, incidents, limits; signed in, online) and the tills (pairing a new one,
revoking one; as the signed-in owner). Branches are edited offline, through the outbox."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane, Tabs

from sync.money import Money, MoneyError

from ...core import catalogue
from ...core.amounts import amount_problem
from ...core.catalogue import Branch, Deal, ListingState, ListingValueError, Product
from ...core.hours import HoursError, hours_text, parse_hours
from ...core.kinds import SubscriptionStatus
from ...core.suspension import ListingEditsPausedError
from ..base import tillpoint
from ..status import StatusLine, SuspensionNotice
from .owner import OwnerPane
from .tills import TillsPane

STATE_WORDS = {
    ListingState.SYNCED: "synced",
    ListingState.EDITED: "edited, waiting to sync",
    ListingState.NEW: "new, waiting to sync",
    ListingState.ON_SALE: "on sale",
    ListingState.ENDED: "ended",
}


NAME_MOST = 120  # characters in a product's or a branch's name, or a deal's title (the server's)
ADDRESS_MOST = 500
PRICE_MOST = 20  # characters typed for a price: more than any price the server takes
PICK_BRANCH = "Pick a branch to edit it."
# Where the focus lands when a tab is shown, so that typing goes where the tab says it does:
# a new product's name. Elsewhere the first field, picker or list shown (a list first: pick,
# then edit; on the Tills tab the new till's branch, not the list whose keys act); on a tab
# with none, nowhere.
TYPED_FIRST = {"products": "#product-name"}


def cell(text: str) -> Text:
    """A table cell that shows `text` as it is: names and titles come from the server, and a
    plain string in a DataTable is read as markup ("[/b]" in a title would crash it)."""
    return Text(text)


class VendorScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f6,ctrl+g", "next_tab", "Next tab", key_display="F6/^g"),
        Binding("shift+f6", "next_tab(-1)", "Previous tab", show=False),
        Binding("escape", "cancel", "Cancel the edit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.editing: Product | None = None  # the product picked for editing
        self.product_rows: dict[str, Product] = {}
        self.deal_rows: dict[str, Deal] = {}
        self.branch_rows: dict[str, Branch] = {}
        self.editing_branch: Branch | None = None
        self.editing_deal: Deal | None = None  # the deal picked for a new title
        self.asking = False  # a question of this screen's is on top of it (Y/N)

    def tell(self, text: str, *, warning: bool = False, timeout: float | None = None) -> None:
        """A notice with `text` as it is (never read as markup: it holds names and titles)."""
        severity: SeverityLevel = "warning" if warning else "information"
        self.notify(text, severity=severity, timeout=timeout, markup=False)

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Vendor", id="title")
        yield SuspensionNotice()
        with TabbedContent(initial="products"):
            with TabPane("Products", id="products"):
                yield DataTable(id="product-table", cursor_type="row")
                yield Static("", id="product-form-title", markup=False)
                yield Input(placeholder="product name", id="product-name", max_length=NAME_MOST)
                yield Input(
                    placeholder="price, e.g. 3.50", id="product-price", max_length=PRICE_MOST
                )
            with TabPane("Deals", id="deals"):
                yield DataTable(id="deal-table", cursor_type="row")
                yield Input(
                    placeholder="new title for the selected deal, then Enter (Esc cancels)",
                    id="deal-title",
                    max_length=NAME_MOST,
                )
            with TabPane("Branches", id="branches"):
                yield DataTable(id="branch-table", cursor_type="row")
                yield Static(PICK_BRANCH, id="branch-form-title", markup=False)
                yield Input(placeholder="branch name", id="branch-name", max_length=NAME_MOST)
                yield Input(placeholder="address", id="branch-address", max_length=ADDRESS_MOST)
                yield Input(
                    placeholder="hours, e.g. mon-fri 08:00-18:00; sat 09:00-13:00",
                    id="branch-hours",
                )
            with TabPane("Offline limits", id="limits"):
                yield Static("", id="limits-text", markup=False)
            with TabPane("Sync", id="sync"):
                yield Static("", id="sync-text", markup=False)
            with TabPane("Owner", id="owner-tab"):
                yield OwnerPane()
            with TabPane("Tills", id="tills-tab"):
                yield TillsPane()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#product-table", DataTable).add_columns(
            "Product", "Price", "Version", "State"
        )
        self.query_one("#deal-table", DataTable).add_columns("Deal", "Price", "Ends", "State")
        self.query_one("#branch-table", DataTable).add_columns(
            "Branch", "Address", "Hours", "State"
        )

    def on_screen_suspend(self) -> None:
        self.asking = self.app.screen.is_modal  # a question, not another screen

    def on_screen_resume(self) -> None:
        self.reload()
        if self.asking:  # its answer given: the focus stays where the question was asked
            self.asking = False
            return
        self._focus_tab()  # back on the tab it was left on: into it, not onto the tab bar

    def action_next_tab(self, step: int = 1) -> None:
        """Move to the next tab and into it, so its first field or table has the keys."""
        tabs = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane) if pane.id]
        current = panes.index(tabs.active) if tabs.active in panes else 0
        tabs.active = panes[(current + step) % len(panes)]
        self._focus_tab()

    def _focus_tab(self) -> None:
        """The focus into the tab shown, where typing makes sense (`TYPED_FIRST`)."""
        tabs = self.query_one(TabbedContent)
        pane = tabs.get_pane(tabs.active)
        wanted = TYPED_FIRST.get(tabs.active)
        shown = [w for w in pane.query("*") if w.focusable and _shown(w, pane)]
        first = next((w for w in shown if wanted and w.id == wanted[1:]), None)
        # A tab with nothing to focus takes the focus off the last one: left on a widget of
        # the hidden tab, it would move to that tab's next field, and bring the tab back.
        self.set_focus(first or next(iter(shown), None))

    def reload(self) -> None:
        store = tillpoint(self).session.store
        self._products(catalogue.products(store))
        deals = self.query_one("#deal-table", DataTable)
        deals.clear()
        self.deal_rows = {deal.id: deal for deal in catalogue.deals(store)}
        for deal in self.deal_rows.values():
            deals.add_row(
                cell(deal.title),
                cell(deal.price.format()),
                cell(f"{deal.ends_at:%Y-%m-%d}"),
                cell(STATE_WORDS[deal.state]),
                key=deal.id,
            )
        branches = self.query_one("#branch-table", DataTable)
        branches.clear()
        self.branch_rows = {branch.id: branch for branch in catalogue.branches(store)}
        for branch in self.branch_rows.values():
            branches.add_row(
                cell(branch.name + (" (this till)" if branch.here else "")),
                cell(branch.address),
                cell(hours_text(branch.opening_hours or {})),
                cell(STATE_WORDS[branch.state]),
                key=branch.id,
            )
        self.query_one("#limits-text", Static).update(self._limits_text())
        self.query_one("#sync-text", Static).update(self._sync_text())
        self._form_title()

    def _products(self, products: list[Product]) -> None:
        table = self.query_one("#product-table", DataTable)
        table.clear()
        self.product_rows = {p.id: p for p in products if p.state is not ListingState.NEW}
        for product in products:
            version = "new" if product.version is None else str(product.version)
            table.add_row(
                cell(product.name),
                cell(product.price.format()),
                cell(version),
                cell(STATE_WORDS[product.state]),
                key=product.id,
            )
        self.product_count = len(products)

    def _usage(self) -> str:
        plan = catalogue.plan(tillpoint(self).session.store)
        if plan is None:
            return f"{self.product_count} products"
        limit = plan.max_products
        usage = (
            f"{self.product_count} products, no limit on {plan.name}"
            if limit is None
            else f"{self.product_count} of {limit} products on {plan.name}"
        )
        if limit is not None and self.product_count > limit:
            usage += " (over: the plan grows after a 7-day grace unless you remove some)"
        if plan.status is SubscriptionStatus.SUSPENDED:
            usage += " · SUSPENDED: edits are refused until the invoice is paid"
        return usage

    def _form_title(self) -> None:
        if self.editing is None:
            text = (
                f"{self._usage()}. New product: name, Enter, price, Enter. Pick a row to edit it."
            )
        else:
            text = f"Editing {self.editing.name}: change name or price, Enter saves, Esc cancels."
        self.query_one("#product-form-title", Static).update(text)

    @on(DataTable.RowSelected, "#product-table")
    def product_picked(self, event: DataTable.RowSelected) -> None:
        product = self.product_rows.get(str(event.row_key.value))
        if product is None:
            return  # a new product waiting to sync: edit it after it has synced
        self.editing = product
        self.query_one("#product-name", Input).value = product.name
        self.query_one("#product-price", Input).value = product.price.amount_text()
        self.query_one("#product-name", Input).focus()
        self._form_title()

    @on(Input.Submitted, "#product-name")
    def name_entered(self) -> None:
        self.query_one("#product-price", Input).focus()

    @on(Input.Submitted, "#product-price")
    def price_entered(self) -> None:
        name_input = self.query_one("#product-name", Input)
        price_input = self.query_one("#product-price", Input)
        name = name_input.value.strip()
        if not 0 < len(name) <= NAME_MOST:
            self.tell(f"Give the product a name of 1 to {NAME_MOST} characters.", warning=True)
            name_input.focus()
            return
        store = tillpoint(self).session.store
        code = catalogue.currency(store)
        try:
            price = Money.parse(price_input.value, code)
        except MoneyError as exc:  # in the scan screen's words: "For £2.50 type 2.50, …"
            problem = amount_problem(price_input.value, exc, code)
            self.tell(f"Not saved: {problem[0].lower()}{problem[1:]}.", warning=True)
            price_input.focus()
            return
        except ValueError:  # more digits than Python makes a number of
            self.tell("Not saved: type the price as an amount, e.g. 3.50.", warning=True)
            price_input.focus()
            return
        try:
            catalogue.edit_product(store, self.editing, name, price)
        except ListingEditsPausedError as exc:
            self.tell(str(exc), warning=True, timeout=8)
            return
        except ListingValueError as exc:
            self.tell(f"Not saved: {exc}.", warning=True, timeout=8)
            price_input.focus()
            return
        self.tell(f"Saved {name} at {price.format()}; it goes to the server with the next sync.")
        self._cancel_product()
        self.reload()
        tillpoint(self).action_sync_now()

    @on(DataTable.RowSelected, "#deal-table")
    def deal_picked(self, event: DataTable.RowSelected) -> None:
        deal = self.deal_rows.get(str(event.row_key.value))
        if deal is not None:
            self.editing_deal = deal
            title = self.query_one("#deal-title", Input)
            title.value = deal.title
            title.focus()

    @on(Input.Submitted, "#deal-title")
    def deal_title_entered(self, event: Input.Submitted) -> None:
        title = event.value.strip()
        deal = self.editing_deal  # the one picked, wherever the table's cursor is now
        if deal is None or not 0 < len(title) <= NAME_MOST:
            self.tell(f"Pick a deal, then give it a title of 1 to {NAME_MOST} characters.")
            return
        try:
            catalogue.edit_deal_title(tillpoint(self).session.store, deal, title)
        except ListingEditsPausedError as exc:
            self.tell(str(exc), warning=True, timeout=8)
            return
        self.tell(f"Saved the deal as {title!r}; it goes to the server with the next sync.")
        self._cancel_deal()
        self.reload()
        tillpoint(self).action_sync_now()

    # -- Esc: the edit in the tab shown is dropped, nothing is saved ----------------------------

    def action_cancel(self) -> None:
        cancel = {
            "products": self._cancel_product,
            "deals": self._cancel_deal,
            "branches": self._cancel_branch,
        }.get(self.query_one(TabbedContent).active)
        if cancel is not None and cancel():
            self.tell("Cancelled: nothing was saved.")

    def _clear(self, *fields: str) -> bool:
        """Empty the fields; whether any held something."""
        held = False
        for field in fields:
            found = self.query_one(field, Input)
            held = held or bool(found.value)
            found.clear()
        return held

    def _cancel_product(self) -> bool:
        """Back to "New product"; whether there was anything to drop."""
        picked, self.editing = self.editing is not None, None
        typed = self._clear("#product-name", "#product-price")
        self._form_title()
        return picked or typed

    def _cancel_deal(self) -> bool:
        picked, self.editing_deal = self.editing_deal is not None, None
        return self._clear("#deal-title") or picked

    def _cancel_branch(self) -> bool:
        picked, self.editing_branch = self.editing_branch is not None, None
        typed = self._clear("#branch-name", "#branch-address", "#branch-hours")
        self.query_one("#branch-form-title", Static).update(PICK_BRANCH)
        return picked or typed

    @on(TabbedContent.TabActivated)
    def tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tills-tab":
            self.query_one(TillsPane).show()
        focused = self.focused
        if focused is None or not (
            isinstance(focused, Tabs) or event.pane in focused.ancestors_with_self
        ):
            self._focus_tab()  # clicked: into it (on the tab bar, ← → go on through tabs)

    @on(DataTable.RowSelected, "#branch-table")
    def branch_picked(self, event: DataTable.RowSelected) -> None:
        branch = self.branch_rows.get(str(event.row_key.value))
        if branch is None:
            return
        self.editing_branch = branch
        self.query_one("#branch-name", Input).value = branch.name
        self.query_one("#branch-address", Input).value = branch.address
        self.query_one("#branch-hours", Input).value = hours_text(branch.opening_hours or {})
        self.query_one("#branch-form-title", Static).update(
            f"Editing {branch.name}: Enter moves on, Enter on the hours saves, Esc cancels."
        )
        self.query_one("#branch-name", Input).focus()

    @on(Input.Submitted, "#branch-name, #branch-address")
    def branch_field_entered(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#branch-hours")
    def branch_hours_entered(self) -> None:
        branch = self.editing_branch
        if branch is None:
            self.tell("Pick a branch in the list first, then edit it.", warning=True)
            return
        name = self.query_one("#branch-name", Input).value.strip()
        address = self.query_one("#branch-address", Input).value.strip()
        typed = self.query_one("#branch-hours", Input).value.strip()
        if not 0 < len(name) <= NAME_MOST or not 0 < len(address) <= ADDRESS_MOST:
            self.tell(
                f"Give the branch a name (up to {NAME_MOST} characters) and an address "
                f"(up to {ADDRESS_MOST}).",
                warning=True,
            )
            return
        if not typed:  # an emptied field is not "closed all week" by accident
            self.tell("Type the opening hours (e.g. mon-fri 08:00-18:00), or closed.", warning=True)
            return
        try:
            hours = {} if typed.lower() == "closed" else parse_hours(typed)
            catalogue.edit_branch(tillpoint(self).session.store, branch, name, address, hours)
        except ListingEditsPausedError as exc:
            self.tell(str(exc), warning=True, timeout=8)
            return
        except HoursError as exc:
            self.tell(f"Not saved: {exc}.", warning=True, timeout=8)
            self.query_one("#branch-hours", Input).focus()
            return
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = str(problem["loc"][0]).replace("_", " ")
            self.tell(f"Not saved: {field}: {problem['msg'].lower()}.", warning=True)
            return
        self.tell(f"Saved {name}; it goes to the server with the next sync.")
        self._cancel_branch()
        self.reload()
        tillpoint(self).action_sync_now()

    def _limits_text(self) -> str:
        store = tillpoint(self).session.store
        limits = catalogue.offline_limits(store)
        if limits is None:
            return "Not synced yet: the limits arrive with the first sync."
        currency = catalogue.currency(store)

        def money(minor: int) -> str:
            return Money.of(minor, currency).format()

        hours = limits.max_cache_age_seconds / 3600
        return "\n".join(
            [
                "While offline, this terminal approves at most:",
                f"  one redemption:               {money(limits.max_single_minor)}",
                f"  one card, until it syncs:     {money(limits.max_per_card_minor)}",
                f"  everything not yet synced:    {money(limits.max_unsynced_minor)}",
                f"After {hours:g} hours without a sync: "
                f"{money(limits.stale_cache_max_minor)} a redemption.",
                "",
                "The owner sets these in the Owner tab.",
            ]
        )

    def _sync_text(self) -> str:
        app = tillpoint(self)
        pairing = app.session.store.pairing()
        lines = [f"This terminal: device {pairing.device_id}" if pairing else "Not paired."]
        last = app.last_sync.summary if app.last_sync else None
        if last is not None:
            lines.append(
                f"Last sync: pushed {last.pushed} ({last.applied} applied, "
                f"{last.incidents} with incidents, {last.rejected} refused), "
                f"pulled {last.pulled} changes."
            )
            lines += [f"  incident: {detail}" for detail in last.incident_details]
        rejected = app.session.store.rejected()
        if rejected:
            lines.append("Refused by the server (kept here, not retried):")
            lines += [f"  {event_id[:8]}: {reason}" for event_id, reason in rejected]
        else:
            lines.append("Nothing refused by the server.")
        return "\n".join(lines)


def _shown(widget: Widget, pane: Widget) -> bool:
    """Whether `widget` shows in `pane`: neither it nor a container up to the pane hidden
    (the Owner tab hides its sign-in once signed in)."""
    node: DOMNode | None = widget
    while node is not None and node is not pane:
        if not node.display:
            return False
        node = node.parent
    return True
