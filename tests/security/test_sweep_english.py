"""Every page reads wholly in English for a user who chose English.

Each row of the page sweep (test_sweep_pages.PAGES, opened with GET by its
role) and the admin's changelist, add and change page of every model are
opened with the language cookie the footer's switch sets, in a world whose own
data is ASCII. What a user sees there (the text, minus scripts and styles, and
the value, placeholder, title, aria-label and alt attributes) must hold no
Japanese, except:

- text marked ``lang="ja"``: the switch's own 日本語 button;
- data: text stored in the database that the project writes in Japanese by
  design (the report e-mails' and Chatwork texts, an invoice's lines, the
  company's name as an invoice copies it), found by reading the rows.

The failure lists each page with the Japanese fragments found and the text
around them, for a translator.
"""

import re
from html.parser import HTMLParser

import factory
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils import translation

from answering.models import Category
from billing import services as billing_services
from tests import factories
from tests.security.sweep import OWN_APPS, http_client
from tests.security.test_sweep_admin import _models, _object_of
from tests.security.test_sweep_admin import _url as admin_url
from tests.security.test_sweep_pages import PAGES, _url, _user
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

# Kana, kanji, Japanese punctuation (、。「」〜) and full-width forms (（）：).
_JA = r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff60]"
# A run of them, with the digits and spaces between (2026年10月 gives 年10月).
JAPANESE_RUN = re.compile(rf"{_JA}+(?:[\s\d,.]*{_JA}+)*")
_JAPANESE_CHAR = re.compile(_JA)

# ASCII stand-ins for the factories' Japanese defaults.
ENGLISH_CLIENT = {
    "name": factory.Sequence(lambda n: f"Sakura Realty {n} Ltd."),
    "name_kana": "",
    "announce_name": factory.LazyAttribute(lambda o: f"{o.name}, good morning"),
}
ENGLISH_CALL = {
    "caller_name": factory.Sequence(lambda n: f"Caller {n}"),
    "caller_company": "Sample Inc.",
    "purpose": "Please call back",
    "addressee": "Yamada",
}


@pytest.fixture
def english_factories(monkeypatch):
    """The factories' defaults in ASCII, for the rows build_world makes."""
    for factory_class, fields in (
        (factories.ClientFactory, ENGLISH_CLIENT),
        (factories.CallFactory, ENGLISH_CALL),
        (
            factories.ReportRecipientFactory,
            {"name": factory.Sequence(lambda n: f"Recipient {n}")},
        ),
        (
            factories.ClientPersonFactory,
            {"name": factory.Sequence(lambda n: f"Person {n}")},
        ),
    ):
        original = factory_class._generate.__func__

        def generate(cls, strategy, params, _original=original, _fields=fields):  # type: ignore[no-untyped-def]
            return _original(cls, strategy, {**_fields, **params})

        monkeypatch.setattr(factory_class, "_generate", classmethod(generate))


@pytest.fixture
def world(english_factories) -> World:
    # Plan names are data: created in English, they read "Small", "Half"...
    with translation.override("en"):
        world = build_world(category=Category.NORMAL)
    # A row behind every admin change page, as test_sweep_admin.py has.
    factories.LentNumberFactory()
    factories.NumberAssignmentFactory(client=world.client)
    factories.ClientPersonFactory(client=world.client)
    billing_services.add_adjustment(
        invoice=world.invoice, amount_yen=100, reason="refund", created_by=world.admin
    )
    world.recipient_request.name = "New Recipient"
    world.recipient_request.save()
    return world


def japanese_data() -> list[str]:
    """Japanese text stored in the project's rows: reports, invoice lines..."""
    found: set[str] = set()
    for app in OWN_APPS:
        for model in apps.get_app_config(app).get_models():
            names = [
                f.attname
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField) and not f.choices
            ]
            if not names:
                continue
            for row in model._default_manager.values_list(*names):
                for text in row:
                    if text and _JAPANESE_CHAR.search(text):
                        found.update(
                            line.strip()
                            for line in text.splitlines()
                            if _JAPANESE_CHAR.search(line)
                        )
    return sorted(found, key=len, reverse=True)


_SHOWN_ATTRIBUTES = {"value", "placeholder", "title", "aria-label", "alt"}
_NOT_SHOWN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_MARKED_JAPANESE = re.compile(r"<(\w+)\b[^>]*\blang=\"ja\"[^>]*>.*?</\1>", re.S)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.pieces += [v for k, v in attrs if k in _SHOWN_ATTRIBUTES and v]

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if data.strip():
            self.pieces.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(_MARKED_JAPANESE.sub("", _NOT_SHOWN.sub("", html)))
    parser.close()
    return parser.pieces


def japanese_fragments(html: str, data: list[str]) -> list[tuple[str, str]]:
    """(fragment, the text around it) of each Japanese run not in ``data``."""
    found = []
    for piece in visible_text(html):
        for text in data:
            piece = piece.replace(text, " ")
        for match in JAPANESE_RUN.finditer(piece):
            fragment = match.group().strip()
            context = piece[max(0, match.start() - 40) : match.end() + 40]
            found.append((fragment, context))
    return found


def english_client(user):  # type: ignore[no-untyped-def]
    http = http_client(user)
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return http


def _pages(world: World):  # type: ignore[no-untyped-def]
    """(page name, the client of its role, its URL) of every page to read."""
    for name, page in sorted(PAGES.items()):
        yield name, english_client(_user(world, page.role)), _url(name, page, world)
    http = english_client(world.admin)
    yield "admin:index", http, reverse("admin:index")
    for app in sorted({model._meta.app_label for model in admin.site._registry}):
        yield f"admin:app_list {app}", http, reverse("admin:app_list", args=[app])
    for model in _models():
        label = model._meta.label
        yield f"admin {label} changelist", http, admin_url(model, "changelist")
        yield f"admin {label} add", http, admin_url(model, "add")
        row = _object_of(model)
        if row is not None:
            yield f"admin {label} change", http, admin_url(model, "change", row.pk)


def test_every_page_reads_in_english(world):
    data = japanese_data()
    report = []
    pages = 0
    for name, http, url in _pages(world):
        response = http.get(url)
        if "text/html" not in response.get("Content-Type", ""):
            continue  # PDFs and CSVs are Japanese by design
        pages += 1
        found = {}
        for fragment, context in japanese_fragments(response.content.decode(), data):
            found.setdefault(fragment, context)
        if found:
            lines = "\n".join(f"    {f!r}  in  …{c}…" for f, c in found.items())
            report.append(f"{name} ({url}):\n{lines}")
    assert pages > 60
    assert not report, "Japanese on English pages:\n" + "\n".join(report)
