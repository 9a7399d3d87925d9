"""The three plans of the public price list, so that a new server can bill.

Without them a fresh database had no plan: every client was skipped by the
monthly run until an admin typed the prices by hand.
"""

import datetime as dt

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

# Written out here, not imported: a migration keeps doing what it did when it
# was written. Prices are tax included (DOMAIN.md).
PLANS = [
    # code, name, display order, monthly fee, included calls, per call over
    ("small", "スモール", 1, 2960, 20, 148),
    ("half", "ハーフ", 2, 5720, 40, 143),
    ("standard", "スタンダード", 3, 11040, 80, 138),
]
# When these prices came into force is recorded nowhere. They apply from the
# earliest date the system accepts (clients.models.EARLIEST_PLAUSIBLE_DATE), so
# that no client's first billed day lies before every price of its plan. Small's
# old price (2,900 / 145) is left out: its dates are not known. An admin who
# knows them adds that price and moves this one's date.
PRICES_FROM = dt.date(2000, 1, 1)
CHANGE_REASON = "初期データ（マイグレーション）"


def create_plans(apps, schema_editor):
    db = schema_editor.connection.alias
    Plan = apps.get_model("clients", "Plan")
    PlanPrice = apps.get_model("clients", "PlanPrice")
    HistoricalPlan = apps.get_model("clients", "HistoricalPlan")
    HistoricalPlanPrice = apps.get_model("clients", "HistoricalPlanPrice")
    now = timezone.now()
    for code, name, order, fee, included, per_call in PLANS:
        # A server where admins already entered the plan keeps theirs.
        if Plan.objects.using(db).filter(Q(code=code) | Q(name=name)).exists():
            continue
        plan = Plan.objects.using(db).create(code=code, name=name, display_order=order)
        price = PlanPrice.objects.using(db).create(
            plan=plan,
            valid_from=PRICES_FROM,
            monthly_fee_yen=fee,
            included_calls=included,
            per_call_yen=per_call,
        )
        # The models of a migration send no signals to django-simple-history:
        # the rows' creation is recorded here, so that their history starts.
        history = {
            "history_date": now,
            "history_type": "+",
            "history_change_reason": CHANGE_REASON,
        }
        HistoricalPlan.objects.using(db).create(
            id=plan.pk, code=code, name=name, display_order=order, **history
        )
        HistoricalPlanPrice.objects.using(db).create(
            id=price.pk,
            plan_id=plan.pk,
            valid_from=PRICES_FROM,
            monthly_fee_yen=fee,
            included_calls=included,
            per_call_yen=per_call,
            **history,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0006_recipient_entered_once"),
    ]

    operations = [
        # Backwards: nothing. The plans may be in use by then (contracts and
        # invoices point at them), and an admin may have entered them by hand.
        migrations.RunPython(create_plans, migrations.RunPython.noop),
    ]
