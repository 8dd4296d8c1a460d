from decimal import Decimal

from billing import services as billing
from credits import services as credits


def test_it_splits_the_articles_250_credit(customer, staff):
    credit = credits.add_credit(customer, "250.00", reason="cancelled_class", auto_apply=False, by=staff)
    a = billing.create_invoice(customer, [("Ballet", 1, "100.00")], by=staff)
    b = billing.create_invoice(customer, [("Swim", 1, "150.00")], by=staff)
    credits.assign_credit(credit, {a: "100.00", b: "150.00"}, by=staff)
    credit.refresh_from_db()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (credit.assigned, credit.remaining, credit.status) == (Decimal("250.00"), Decimal("0.00"), "fully_assigned")
    assert (a.status, b.status) == ("paid", "paid")
