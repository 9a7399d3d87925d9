"""The company that issues the invoices, as the settings give it.

`make run` starts with a demo company (config/settings.py). On a server (DEBUG
off) an invoice carrying it would be a qualified invoice (適格請求書) from a
company that does not exist, with a registration number nobody holds (the
client could not deduct its tax) and a bank account nobody owns (the client's
transfer would go astray). ``check --deploy`` warns about it, and everything
that issues refuses it (``refuse_demo_company``).
"""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def demo_company_settings() -> list[str]:
    """The company settings (environment variables) still at their demo values
    on a server; none in debug, where the demo company is the point."""
    if settings.DEBUG:
        return []
    return [
        name
        for name, demo in settings.COMPANY_DEMO_VALUES.items()
        if getattr(settings, name) == demo
    ]


def own_company_settings() -> list[str]:
    """The company settings a server (DEBUG off) has set to values of its own:
    its invoices are real qualified invoices, whose numbers run without gaps.
    None in debug."""
    if settings.DEBUG:
        return []
    demo = demo_company_settings()
    return [name for name in settings.COMPANY_DEMO_VALUES if name not in demo]


def refuse_demo_company() -> None:
    """On a server, never issue an invoice from the demo company: raises
    ValidationError naming the variables to set."""
    names = demo_company_settings()
    if names:
        raise ValidationError(
            _(
                "請求書に載せる自社の情報がデモ用の値のままのため、発行できません"
                "（何も変更していません）。サーバーの環境変数 %(names)s に"
                "自社の値（会社名、適格請求書発行事業者登録番号、振込先口座）を"
                "設定し、再起動してからやり直してください。"
            ),
            params={"names": _("、").join(names)},
        )


@checks.register("billing", deploy=True)
def check_company_is_not_the_demo(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    names = demo_company_settings()
    if not names:
        return []
    return [
        checks.Warning(
            f"The company on invoices is still the demo one ({', '.join(names)}): "
            "no invoice can be issued (a qualified invoice carries the issuer's "
            "own name and registration number, and the account clients pay into).",
            hint=f"Set {' and '.join(names)} in the environment.",
            id="billing.W001",
        )
    ]
