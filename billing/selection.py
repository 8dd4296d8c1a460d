"""Who a bulk action is for — a bulk credit, an invoice run: ticked customers, or everyone matching the customer
list's filter, chosen on purpose."""

from __future__ import annotations

import dataclasses
import hashlib

from django.db.models import QuerySet
from django.http import QueryDict

from customers.models import Customer
from customers.services import NO_CUSTOMERS

from .filters import CustomerListFilter

MAX_BULK_IDS = 1000


@dataclasses.dataclass
class Selection:
    """Who a bulk action is for: ticked customer ids (at most 1,000), or everyone matching the customer list's filter.

    A filter chooses nobody until it is given (a search, a class tag, "has outstanding balance") or `everyone` says
    "All customers" on purpose: an empty filter must never mean every customer by default.
    """

    ids: list[int] | None = None
    filterset: CustomerListFilter | None = None
    everyone: bool = False
    error: str | None = None

    @property
    def by_filter(self) -> bool:
        return self.filterset is not None

    @property
    def nobody(self) -> bool:
        """A filter that nobody has chosen yet."""
        return self.filterset is not None and not self.everyone and not self.filterset.narrows

    @property
    def queryset(self) -> QuerySet[Customer]:
        if self.nobody:
            return Customer.objects.none()
        if self.filterset is not None:
            return self.filterset.qs
        return Customer.objects.filter(pk__in=self.ids or [])

    @property
    def for_service(self) -> QuerySet[Customer] | list[int]:
        """Ids stay a list so that the service can say when some of them no longer exist."""
        return self.queryset if self.filterset is not None else list(self.ids or [])

    @property
    def filters(self) -> dict[str, str]:
        """The customer list's filter as typed (q, tag, outstanding), to show and carry on."""
        data = self.filterset.data if self.filterset is not None else {}
        return {name: data.get(name, "") for name in ("q", "tag", "outstanding")}

    def confirmation(self, count: int, amount: object) -> str:
        """What "Yes, credit N customers" says yes to: the count, the amount and exactly this choice.

        Any change (another filter or tick, another amount, customers added meanwhile) makes another one, so the
        question is asked again."""
        choice = repr(sorted(self.ids or [])) if self.filterset is None else repr((self.filters, self.everyone))
        digest = hashlib.sha256(choice.encode()).hexdigest()[:16]
        return f"{count}:{amount}:{digest}"


def read_selection(data: QueryDict, *, required: bool) -> Selection:
    """`customer=<id>` repeated, or `all_matching=1` with the list's `q` / `tag` / `outstanding`, or `everyone=1`."""
    raw_ids = data.getlist("customer")
    if raw_ids:
        if len(raw_ids) > MAX_BULK_IDS:
            return Selection(ids=[], error=f"Tick at most {MAX_BULK_IDS:,} customers, or use “select all matching”.")
        if not all(value.isascii() and value.isdigit() and len(value) <= 18 for value in raw_ids):
            return Selection(ids=[], error="Choose customers from the customer list.")
        return Selection(ids=sorted({int(value) for value in raw_ids}))
    if data.get("all_matching") == "1" or not required:
        # The customer list shows active customers, so "all matching" means the same ones it counted.
        return Selection(
            filterset=CustomerListFilter(data, queryset=Customer.objects.active()), everyone=data.get("everyone") == "1"
        )
    return Selection(ids=[], error=NO_CUSTOMERS)
