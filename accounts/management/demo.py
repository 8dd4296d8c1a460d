"""The demo studio: a few hundred families, built through the real services.

Everything with money in it goes through `credits.services` and `billing.services`, so the
history, the stored totals and every database rule are exactly what staff would produce by
clicking through the app. Seeded `random.Random`: the same seed gives the same studio.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import pghistory
from django.contrib.auth.models import User
from django.db.models import Count

from billing import services as billing
from billing.models import Invoice, Payment
from billing_site.ledger import today
from billing_site.money import CENT
from credits import services as credits
from credits.models import Credit, CreditAssignment, CreditBatch, Reason
from customers.models import Customer

CLASSES = [
    "Ballet Tue 4pm",
    "Ballet Sat 9am",
    "Tap Thu 5pm",
    "Street Dance Wed 4:30pm",
    "Swim Sat 10am",
    "Swim Sun 11am",
    "Swim Mon 5pm",
    "Piano Wed 5pm",
    "Piano Fri 4pm",
    "Guitar Thu 6pm",
    "Violin Tue 5pm",
    "Kids Club Fri 3:30pm",
    "Kids Club Wed 3:30pm",
    "Drama Sat 11am",
    "Gymnastics Thu 4pm",
    "Karate Mon 5pm",
]
BATCH_CLASS = "Swim Sat 10am"

# What each activity charges: (description, quantity, unit price); "{term}" becomes e.g. "autumn term".
TERM_FEES = {
    "Ballet": ("Ballet — {term}", 1, "120.00"),
    "Tap": ("Tap — {term}", 1, "96.00"),
    "Street Dance": ("Street Dance — {term}", 1, "90.00"),
    "Swim": ("Swim — 10 lessons", 1, "85.00"),
    "Piano": ("Piano — 30-minute lesson", 10, "22.50"),
    "Guitar": ("Guitar — 30-minute lesson", 10, "21.00"),
    "Violin": ("Violin — 30-minute lesson", 10, "23.00"),
    "Kids Club": ("Kids Club — after-school session", 12, "12.50"),
    "Drama": ("Drama — {term}", 1, "105.00"),
    "Gymnastics": ("Gymnastics — {term}", 1, "99.00"),
    "Karate": ("Karate — {term}", 1, "80.00"),
}
TOP_UPS = {
    "Ballet": ("Ballet — Grade 1 exam entry", 1, "42.00"),
    "Tap": ("Tap shoes", 1, "28.00"),
    "Street Dance": ("Street Dance — showcase ticket", 2, "8.50"),
    "Swim": ("Swim — 10 lessons", 1, "85.00"),
    "Piano": ("Piano — 30-minute lesson", 4, "22.50"),
    "Guitar": ("Guitar — strings and tuner", 1, "16.00"),
    "Violin": ("Violin — instrument hire (half term)", 1, "30.00"),
    "Kids Club": ("Kids Club — half-term holiday club", 1, "95.00"),
    "Drama": ("Drama — show costume hire", 1, "12.00"),
    "Gymnastics": ("Gymnastics — badge award", 1, "6.00"),
    "Karate": ("Karate — grading fee", 1, "25.00"),
}
EXTRAS = [
    ("Registration fee", 1, "15.00"),
    ("Leotard and tights", 1, "18.50"),
    ("Studio T-shirt", 1, "12.00"),
    ("End-of-term show tickets", 2, "7.50"),
]

FIRST_NAMES = [
    "Sarah",
    "Emma",
    "Laura",
    "Rachel",
    "Claire",
    "Hannah",
    "Sophie",
    "Charlotte",
    "Amy",
    "Lucy",
    "Rebecca",
    "Jennifer",
    "Nicola",
    "Helen",
    "Kate",
    "Joanne",
    "Priya",
    "Aisha",
    "Fatima",
    "Zoe",
    "James",
    "David",
    "Daniel",
    "Tom",
    "Matthew",
    "Chris",
    "Mark",
    "Andrew",
    "Ben",
    "Richard",
    "Paul",
    "Gareth",
    "Raj",
    "Mohammed",
    "Oliver",
    "Simon",
    "Stuart",
    "Neil",
    "Adam",
    "Kwame",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "Harris",
    "Martin",
    "Cooper",
    "Hughes",
    "Edwards",
    "Turner",
    "Hill",
    "Moore",
    "Ward",
    "O'Brien",
    "Murphy",
    "Campbell",
    "Kelly",
    "Shah",
    "Okafor",
    "Nowak",
    "Baker",
]
NOTES = [
    "Two children in classes; invoice both on one account.",
    "Prefers to pay by bank transfer.",
    "Nut allergy (Kids Club staff aware).",
    "Sibling discount agreed with the manager.",
    "Collects from Kids Club on Fridays only.",
    "",
]
DOMAINS = ["example.com", "example.co.uk", "example.org", "example.net"]


def term_of(day: datetime.date) -> str:
    """The school term that fees raised on this day pay for (studios bill a few weeks ahead)."""
    if 8 <= day.month <= 11:
        return "autumn term"
    if day.month == 12 or day.month <= 3:
        return "spring term"
    return "summer term"


def _line(template: tuple[str, int, str], day: datetime.date) -> tuple[str, int, str]:
    description, quantity, price = template
    return description.format(term=term_of(day)), quantity, price


def _activity(class_tag: str) -> str:
    return class_tag.rsplit(" ", 2)[0]


def _class_lines(
    catalogue: dict[str, tuple[str, int, str]], tags: list[str], day: datetime.date
) -> list[tuple[str, int, str]]:
    """One line per class; two classes of one activity say which slot each line is for."""
    activities = [_activity(tag) for tag in tags]
    lines = []
    for tag, activity in zip(tags, activities, strict=True):
        description, quantity, price = _line(catalogue[activity], day)
        if activities.count(activity) > 1:
            description += f" ({tag.removeprefix(activity).strip()})"
        lines.append((description, quantity, price))
    return lines


class DemoStudio:
    """Builds the demo data step by step, in the order a real term would have made it."""

    def __init__(self, *, manager: User, staff: User, customers: int = 300, seed: int = 2024) -> None:
        self.rng = random.Random(seed)
        self.manager = manager
        self.staff = staff
        self.size = customers
        self.today = today()

    def days_ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high))

    def build(self) -> None:
        families = self.add_customers()
        self.add_early_credits(families)
        self.raise_invoices(families, low=95, high=110, round_=1)
        self.settle(paid=0.78, part=0.10, void=0.05)
        self.add_cancelled_class_credits(families)
        self.raise_invoices(families, low=40, high=55, round_=2, share=0.5)
        self.settle(paid=0.55, part=0.15, void=0.05)
        self.raise_invoices(families, low=3, high=12, round_=3, share=0.35)
        self.settle(paid=0.15, part=0.10, void=0.03)
        self.add_manual_credits(families)
        self.show_some_history()
        self.add_goodwill_batch()
        self.add_refunds_and_an_overpayment()

    # --- customers -------------------------------------------------------------------------------

    def add_customers(self) -> list[Customer]:
        rng = self.rng
        rows, seen_emails = [], set()
        phones = (
            rng.sample(range(1000), self.size) if self.size <= 1000 else [rng.randrange(1000) for _ in range(self.size)]
        )
        for index in range(self.size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            local = f"{first}.{last}".lower().replace("'", "")
            email = f"{local}@{rng.choice(DOMAINS)}"
            while email in seen_emails:
                email = f"{local}{rng.randint(2, 99)}@{rng.choice(DOMAINS)}"
            seen_emails.add(email)
            # 07700 900000-900999 is Ofcom's range for fiction: no real parent gets a call.
            rows.append(
                Customer(
                    name=f"{first} {last}",
                    email=email,
                    phone=f"07700 900{phones[index]:03d}",
                    tags=rng.sample(CLASSES, rng.choice([1, 1, 2, 2, 3])),
                    notes=rng.choice(NOTES) if rng.random() < 0.15 else "",
                )
            )
        with pghistory.context(action="seed_demo", user=self.manager.pk, username=self.manager.username):
            families = Customer.objects.bulk_create(rows)
        return families

    # --- invoices and payments -------------------------------------------------------------------

    def raise_invoices(self, families: list[Customer], *, low: int, high: int, round_: int, share: float = 1.0) -> None:
        rng = self.rng
        chosen = [family for family in families if rng.random() < share]
        dated = sorted(
            ((self.days_ago(low, high), family) for family in chosen), key=lambda pair: (pair[0], pair[1].pk)
        )
        self.new_invoices: list[Invoice] = []
        for issue_date, family in dated:
            if round_ == 1:
                lines = _class_lines(TERM_FEES, family.tags, issue_date)
                if rng.random() < 0.3:
                    lines.append(rng.choice(EXTRAS))
            else:
                tags = rng.sample(family.tags, rng.randint(1, len(family.tags)))
                lines = _class_lines(TOP_UPS, tags, issue_date)
            invoice = billing.create_invoice(
                family, lines, issue_date=issue_date, due_date=issue_date + datetime.timedelta(days=14), by=self.staff
            )
            self.new_invoices.append(invoice)

    def settle(self, *, paid: float, part: float, void: float) -> None:
        """Pay, part-pay, void or leave each invoice of the last round, by the given shares."""
        rng = self.rng
        for invoice in self.new_invoices:
            roll = rng.random()
            if roll < void and invoice.paid == 0:
                billing.void_invoice(invoice, by=self.manager)
                continue
            if invoice.outstanding == 0:
                continue
            pay_day = min(invoice.issue_date + datetime.timedelta(days=rng.randint(0, 20)), self.today)
            method = rng.choice(["card", "card", "card", "bank_transfer", "bank_transfer", "cash", "cheque"])
            if roll < void + paid:
                if invoice.outstanding >= 40 and rng.random() < 0.2:  # some families pay in two instalments
                    first = (invoice.outstanding / 2).quantize(Decimal("1"))
                    billing.record_payment(invoice, first, date=pay_day, method=method, by=self.staff)
                    invoice.refresh_from_db()
                billing.record_payment(invoice, invoice.outstanding, date=pay_day, method=method, by=self.staff)
            elif roll < void + paid + part:
                amount = (invoice.outstanding * Decimal(rng.choice(["0.25", "0.4", "0.5"]))).quantize(Decimal("0.01"))
                billing.record_payment(invoice, amount, date=pay_day, method=method, by=self.staff)

    # --- credits -------------------------------------------------------------------------------

    def add_early_credits(self, families: list[Customer]) -> None:
        """Balances carried over from last term: auto-applied to the first invoice, or kept aside."""
        for family in self.rng.sample(families, max(2, self.size // 12)):
            keep = self.rng.random() < 0.25
            credits.add_credit(
                family,
                self.rng.choice(["25.00", "40.00", "60.00", "150.00"]),
                date=self.days_ago(115, 125),
                reason=Reason.ADJUSTMENT if not keep else Reason.REFUND,
                note="Balance carried over from last term." if not keep else "Refund kept for the summer show costume.",
                auto_apply=not keep,
                by=self.staff,
            )

    def add_cancelled_class_credits(self, families: list[Customer]) -> None:
        """A class cancelled mid-term: credits that land on the next invoices by themselves."""
        for family in self.rng.sample(families, max(2, self.size // 8)):
            tag = self.rng.choice(family.tags)
            credits.add_credit(
                family,
                self.rng.choice(["8.50", "12.00", "15.00", "22.50"]),
                date=self.days_ago(60, 70),
                reason=Reason.CANCELLED_CLASS,
                note=f"{tag} cancelled (teacher ill).",
                auto_apply=True,
                by=self.staff,
            )

    def add_manual_credits(self, families: list[Customer]) -> None:
        """Credits staff add and assign by hand: split across invoices, part-assigned, or kept."""
        rng = self.rng
        reasons = [
            Reason.REFUND,
            Reason.WRITE_OFF,
            Reason.GOODWILL,
            Reason.ADJUSTMENT,
            Reason.OTHER,
            Reason.CANCELLED_CLASS,
        ]
        notes = {
            Reason.REFUND: "Refund for a double payment.",
            Reason.WRITE_OFF: "Small balance written off.",
            Reason.GOODWILL: "Sorry for the mix-up with the timetable.",
            Reason.ADJUSTMENT: "Price corrected after sibling discount.",
            Reason.OTHER: "Voucher from the summer fair raffle.",
            Reason.CANCELLED_CLASS: "Class cancelled: studio heating failure.",
        }
        amounts = ["20.00", "30.00", "45.00", "60.00", "100.00", "250.00"]
        by_pk = {family.pk: family for family in families}
        two_open = Invoice.objects.open().values("customer").annotate(n=Count("id")).filter(n__gte=2)
        two_open = sorted(two_open.values_list("customer", flat=True))
        # Split: half on the family's oldest open invoice, the rest on the next one (the article's £100 / £150).
        for index, pk in enumerate(rng.sample(two_open, min(len(two_open), max(2, self.size // 25)))):
            reason = reasons[index % len(reasons)]
            amount = Decimal(rng.choice(amounts))
            credit = credits.add_credit(
                by_pk[pk], amount, date=self.days_ago(0, 30), reason=reason, note=notes[reason], by=self.staff
            )
            first, second = Invoice.objects.open_for(pk)[:2]
            on_first = min((amount / 2).quantize(CENT), first.outstanding)
            credits.assign_credit(
                credit, {first: on_first, second: min(amount - on_first, second.outstanding)}, by=self.staff
            )
        for index, family in enumerate(rng.sample(families, max(6, self.size // 5))):
            reason = reasons[index % len(reasons)]
            plan = index % 3  # 0: part-assigned, 1: kept for later (auto-apply off), 2: waiting for the next invoice
            amount = Decimal(rng.choice(amounts))
            credit = credits.add_credit(
                family,
                amount,
                date=self.days_ago(0, 30),
                reason=reason,
                note=notes[reason],
                auto_apply=plan != 1,
                by=self.staff,
            )
            open_invoice = Invoice.objects.open_for(family).first()
            if plan == 0 and open_invoice:
                part = min((amount / 2).quantize(CENT), open_invoice.outstanding)
                credits.assign_credit(credit, {open_invoice: part}, by=self.staff)

    def show_some_history(self) -> None:
        """A modified credit, a removed assignment and a deleted credit, so History tabs have stories."""
        credit = Credit.objects.filter(reason=Reason.GOODWILL, assigned=0).order_by("id").first()
        if credit:
            credits.update_credit(
                credit, amount=credit.amount + 5, note=credit.note + " Increased after a call.", by=self.manager
            )
        assignment = CreditAssignment.objects.filter(credit__reason=Reason.ADJUSTMENT).order_by("-id").first()
        if assignment:
            credits.unassign_credit(assignment, by=self.staff)
        mistake = Credit.objects.filter(reason=Reason.OTHER).order_by("-id").first()
        if mistake:
            credits.delete_credit(mistake, by=self.manager)

    def add_goodwill_batch(self) -> None:
        """£10 goodwill to every swimmer of one class: the bulk action, still undoable."""
        credits.add_bulk_credits(
            Customer.objects.tagged(BATCH_CLASS),
            "10.00",
            date=self.days_ago(1, 2),
            reason=Reason.GOODWILL,
            note=f"{BATCH_CLASS}: pool closed for maintenance, sorry!",
            by=self.manager,
        )

    def add_refunds_and_an_overpayment(self) -> None:
        """Money back out: a family leaving is refunded its kept credit, a refund put right by reversing it,
        and a parent who paid more than the invoice, the extra kept as a credit."""
        kept = list(Credit.objects.filter(auto_apply=False, assigned=0, batch=None).order_by("id")[:2])
        if kept:
            credits.refund_credit(
                kept[0], kept[0].remaining, method="bank_transfer", note="Leaving at the end of term.", by=self.manager
            )
        if len(kept) > 1:
            mistake = credits.refund_credit(
                kept[1], "5.00", method="cash", note="Refund to the wrong family.", by=self.manager
            )
            credits.reverse_refund(mistake, reason="Paid to the wrong family; the cash came back.", by=self.manager)
        invoice = Invoice.objects.open().order_by("id").first()
        if invoice:
            billing.record_payment(
                invoice, invoice.outstanding + 20, method="bank_transfer", overpayment_to_credit=True, by=self.staff
            )


def summary() -> str:
    """What the database holds: rows per table, invoices and credits by status."""

    def by_status(model) -> str:
        counts = dict(model.objects.order_by().values_list("status").annotate(n=Count("id")))
        statuses = [value for value, _ in model._meta.get_field("status").output_field.choices]
        return ", ".join(f"{counts.get(status, 0):,} {status}" for status in statuses)

    return (
        f"{Customer.objects.count():,} customers; {Invoice.objects.count():,} invoices ({by_status(Invoice)}); "
        f"{Payment.objects.count():,} payments; {Credit.objects.count():,} credits ({by_status(Credit)}); "
        f"{CreditAssignment.objects.count():,} assignments; {CreditBatch.objects.count():,} bulk batch(es)."
    )
