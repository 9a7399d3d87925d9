"""Never a 500, never lost data: the Django admin's pages of every registered
model, with hostile query strings, forms, ids and actions.

test_admin_guards.py pins the cases found so far; this sweep walks all of the
admin's URL patterns (``test_every_admin_url_pattern_is_swept``).
"""

from urllib.parse import quote, urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import given
from hypothesis import strategies as st

from billing import services as billing_services
from clients.models import Client, LentNumber, NumberAssignment, Plan
from tests import factories
from tests.html_forms import form_values
from tests.security.sweep import (
    HOSTILE,
    HOSTILE_IDS,
    SWEEP,
    http_client,
    row_counts,
    short,
    shows_a_form_error,
)
from tests.security.test_fuzz import text
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

# The admin site's own pages; each registered model adds the ones below.
SITE_PAGES = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
    # The User admin's own page (Django names it after auth.User).
    "auth_user_password_change",
}
MODEL_PAGES = ("changelist", "add", "change", "delete", "history", "simple_history")


def admin_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns) -> None:  # type: ignore[no-untyped-def]
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(pattern.name)

    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.app_name == "admin":
            walk(pattern.url_patterns)
    return names


def swept_names() -> set[str]:
    names = set(SITE_PAGES)
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}"
        names |= {f"{prefix}_{page}" for page in MODEL_PAGES}
    return names


def test_every_admin_url_pattern_is_swept():
    assert admin_url_names() - swept_names() == set()


@pytest.fixture
def world() -> World:
    world = build_world()
    # A row behind every change page: a free number, a lent one, a credit.
    factories.LentNumberFactory()
    factories.NumberAssignmentFactory(client=world.client)
    billing_services.add_adjustment(
        invoice=world.invoice, amount_yen=100, reason="返金", created_by=world.admin
    )
    return world


def _object_of(model):  # type: ignore[no-untyped-def]
    """A row of ``model`` for its change page, or None."""
    return model._default_manager.order_by("pk").first()


def _models():  # type: ignore[no-untyped-def]
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def _url(model, page: str, *args) -> str:  # type: ignore[no-untyped-def]
    return reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args
    )


def _admin_request(world: World):  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/")
    request.user = world.admin
    return request


def _filter_parameters(model, world: World) -> list[str]:  # type: ignore[no-untyped-def]
    """The query names the changelist's filters and date drill-down read."""
    model_admin = admin.site._registry[model]
    request = _admin_request(world)
    changelist = model_admin.get_changelist_instance(request)
    names = [
        name for spec in changelist.filter_specs for name in spec.expected_parameters()
    ]
    if model_admin.date_hierarchy:
        names += [
            f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")
        ]
    return names


# A shorter list: the changelists have many filters.
FILTER_VALUES = ["\x00", "9" * 30, "2026-02-30", "bogus"]


def test_changelists_with_hostile_query_strings(world):
    http = http_client(world.admin)
    for model in _models():
        url = _url(model, "changelist")
        queries = [{"q": value} for value in [*FILTER_VALUES, "-1", "あ" * 5000]] + [
            {"o": "999"},
            {"o": "-1.x.0"},
            {"o": "\x00"},
            {"p": "-1"},
            {"p": "9" * 30},
            {"p": "a"},
            {"all": ""},
            {"e": "1"},
            {"_popup": "1", "_to_field": "password"},
            {"_to_field": "\x00"},
            {"unknown": "1"},
            {"pk__in": "1,a"},
            {"id__gt": "9" * 30},
        ]
        for name in _filter_parameters(model, world):
            queries += [{name: value} for value in FILTER_VALUES]
        for query in queries:
            response = http.get(f"{url}?{urlencode(query)}")
            assert response.status_code < 500, short(url, query)


def test_object_pages_with_ids_that_name_no_row(world):
    http = http_client(world.admin)
    ids = [*HOSTILE_IDS, "a", "-1", "\x00", "あ"]
    for model in _models():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        before = row_counts()
        for object_id in ids:
            quoted = quote(object_id, safe="")
            for page in ("change", "delete", "history"):
                url = reverse(f"{prefix}_{page}", args=["1"]).replace(
                    "/1/", f"/{quoted}/", 1
                )
                response = http.get(url)
                assert response.status_code < 500, short(url)
                response = http.post(url, {"post": "yes"})
                assert response.status_code < 500, short(url)
            history = f"{_url(model, 'changelist')}{quoted}/history/{quoted}/"
            assert http.get(history).status_code < 500, short(history)
        assert row_counts() == before, model


def _form_pages(world: World):  # type: ignore[no-untyped-def]
    """(url, the form's id) of every add and change page the admin may use."""
    http = http_client(world.admin)
    for model in _models():
        form_id = f"{model._meta.model_name}_form"
        urls = [_url(model, "add")]
        row = _object_of(model)
        if row is not None:
            urls.append(_url(model, "change", row.pk))
        for url in urls:
            response = http.get(url)
            if response.status_code == 200 and f'id="{form_id}"' in (
                body := response.content.decode()
            ):
                yield url, form_values(body, form_id)


hostile_value = st.one_of(st.sampled_from(HOSTILE), text)


def _sweep_form(http, url: str, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @SWEEP
    @given(
        changed=st.dictionaries(
            st.sampled_from(sorted(form)), hostile_value, min_size=1, max_size=3
        )
    )
    def sweep(changed):  # type: ignore[no-untyped-def]
        before = row_counts()
        response = http.post(url, {**form, **changed})
        assert response.status_code < 500, short(url, changed)
        if response.status_code == 200 and shows_a_form_error(response):
            assert row_counts() == before, short(url, changed, "half saved")

    sweep()


def test_add_and_change_forms_with_hostile_values(world):
    http = http_client(world.admin)
    pages = list(_form_pages(world))
    assert len(pages) > 10
    for url, form in pages:
        _sweep_form(http, url, form)


def _sweep_action(http, url: str, action: str, fields: dict, row_id: int) -> None:  # type: ignore[no-untyped-def]
    @SWEEP
    @given(
        form=st.fixed_dictionaries({}, optional=fields),
        selected=st.lists(st.one_of(st.just(str(row_id)), hostile_value), max_size=2),
        apply=st.booleans(),
    )
    def sweep(form, selected, apply):  # type: ignore[no-untyped-def]
        data = {"action": action, ACTION_CHECKBOX_NAME: selected, **form}
        if apply:
            data["apply"] = "1"
        response = http.post(url, data)
        assert response.status_code < 500, short(url, data)

    sweep()


def test_actions_with_hostile_forms(world):
    http = http_client(world.admin)
    swept = []
    # The fields of the actions' own forms (the page shown before an action
    # applies), with values they accept too, to reach past the form.
    good = {
        "plan": [str(pk) for pk in Plan.objects.values_list("pk", flat=True)],
        "number": [str(pk) for pk in LentNumber.objects.values_list("pk", flat=True)],
        "use": NumberAssignment.Use.values,
        "assigned_on": ["2026/11/02", "2026-12-31"],
        "released_on": ["2026/11/02", "2026-12-31"],
    }
    fields = {
        name: st.one_of(st.sampled_from(values), hostile_value)
        for name, values in good.items()
    }
    for model, model_admin in admin.site._registry.items():
        row = _object_of(model)
        if row is None:
            continue
        for action in model_admin.get_actions(_admin_request(world)):
            _sweep_action(http, _url(model, "changelist"), action, fields, row.pk)
            swept.append(action)
    assert len(swept) > 10


def test_site_pages_with_hostile_input(world):
    http = http_client(world.admin)
    client_type = ContentType.objects.get_for_model(Client)
    for query in [
        {"term": "\x00", "app_label": "clients", "model_name": "client"},
        {"term": "a", "app_label": "\x00", "model_name": "x", "field_name": "y"},
        {
            "term": "あ" * 5000,
            "app_label": "billing",
            "model_name": "adjustment",
            "field_name": "invoice",
            "page": "9" * 30,
        },
    ]:
        response = http.get(reverse("admin:autocomplete"), query)
        assert response.status_code < 500, short(query)
    for content_type_id, object_id in [
        (str(client_type.pk), "9" * 30),
        (str(client_type.pk), "a"),
        ("9" * 30, "1"),
        ("a", "b"),
        ("%00", "%00"),
    ]:
        response = http.get(f"/admin/r/{content_type_id}/{object_id}/")
        assert response.status_code < 500, short(content_type_id, object_id)
    for url in (
        "/admin/",
        "/admin/clients/",
        "/admin/jsi18n/",
        "/admin/nothing/",
        reverse("admin:password_change"),
        reverse("admin:password_change_done"),
    ):
        assert http.get(url, {"\x00": "\x00"}).status_code < 500, short(url)
    # A user's password, set by an admin: only the digits of a row name one.
    for user_id in [str(world.operator.pk), *HOSTILE_IDS, "a", "\x00"]:
        url = reverse("admin:auth_user_password_change", args=["1"]).replace(
            "/1/", f"/{quote(user_id, safe='')}/", 1
        )
        for value in ("", "\x00", "あ" * 5000):
            data = {"password1": value, "password2": value, "usable_password": value}
            assert http.post(url, data).status_code < 500, short(url, value)
    assert (
        world.operator.password
        == type(world.operator).objects.get(pk=world.operator.pk).password
    )
    response = http.post(reverse("admin:logout"), {"next": "\x00"})
    assert response.status_code < 500
    anonymous = http_client()
    for value in HOSTILE:
        response = anonymous.post(
            reverse("admin:login"),
            {"username": value, "password": value, "next": value},
        )
        assert response.status_code < 500, short(value)


def test_form_pages_with_hostile_query_strings(world):
    """The add page takes its initial values from the query string, and every
    form page keeps the list's filters (?_changelist_filters=) for the way back."""
    http = http_client(world.admin)
    for url, form in _form_pages(world):
        for value in FILTER_VALUES:
            query = {
                **dict.fromkeys(form, value),
                "_changelist_filters": f"q={value}&p={value}",
                "_popup": value,
                "_to_field": value,
            }
            response = http.get(url, query)
            assert response.status_code < 500, short(url, value)
