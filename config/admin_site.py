"""The admin site: Django's, minus the 500s a hand-edited admin URL could cause.

Every ModelAdmin registered here (ours and the libraries') gets the guards below,
so no admin class has to remember them.
"""

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.forms.models import _get_foreign_key
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from clients.dates import JapaneseDateField, format_day, format_moment
from config.row_ids import parse_row_id

logger = logging.getLogger(__name__)


class GuardedChangeList(ChangeList):
    def get_filters(self, request):  # type: ignore[no-untyped-def]
        # A NUL byte in a filter reached PostgreSQL, which refuses it; a date
        # drill-down to year 9999 (or a 30-digit year) overflowed in Django.
        # Both become the admin's own "bad filter" redirect (?e=1).
        if any(
            "\x00" in value for _, values in request.GET.lists() for value in values
        ):
            raise IncorrectLookupParameters("NUL in a filter")
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_results(self, request):  # type: ignore[no-untyped-def]
        # SQLite (the embedded default) takes no integer beyond 64 bits and no
        # date before year 1 in UTC (?received_at__gte=0001-01-01 in Japan time):
        # it raises when the list is counted, after the filters were accepted.
        try:
            super().get_results(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class JapaneseDatesMixin:
    """Date fields read 2026/11/01 and 2026年11月1日 and refuse 01/11/2026, as on
    every other page (clients.dates); Django's admin read it as 11 January."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(db_field, models.DateField) and not isinstance(
            db_field, models.DateTimeField
        ):
            kwargs.setdefault("form_class", JapaneseDateField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


# What the database says when a save breaks a rule between rows: SQLSTATE
# (PostgreSQL) or SQLite's extended code. Only these become the form's error;
# any other IntegrityError (a row referred to that was deleted, a missing
# value) is a fault in the code, and stays a server error.
_UNIQUE_SQLSTATES = {"23505", "23P01"}  # unique, exclusion
_CHECK_SQLSTATE = "23514"
_UNIQUE_SQLITE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
_CHECK_SQLITE = "SQLITE_CONSTRAINT_CHECK"


def _constraint_refusal(error: IntegrityError) -> tuple[str, str] | None:
    """("unique" or "check", the constraint's name if known) when ``error`` is
    a constraint refusing the row, else None."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        diag = getattr(cause, "diag", None)
        name = getattr(diag, "constraint_name", None) or ""
        if sqlstate in _UNIQUE_SQLSTATES:
            return "unique", name
        return ("check", name) if sqlstate == _CHECK_SQLSTATE else None
    code = getattr(cause, "sqlite_errorname", None)
    # SQLite names a check ("CHECK constraint failed: name"), not a unique index.
    _failed, _sep, name = str(cause).partition("constraint failed: ")
    if code in _UNIQUE_SQLITE:
        return "unique", ""
    return ("check", name.strip()) if code == _CHECK_SQLITE else None


_FOREIGN_KEY_SQLSTATE = "23503"
_FOREIGN_KEY_SQLITE = "SQLITE_CONSTRAINT_FOREIGNKEY"


def _refers_to_a_deleted_row(error: IntegrityError) -> bool:
    """True when ``error`` is a foreign key refusing a row that refers to one
    deleted: checked at commit (the constraints are deferred), so a row that
    another transaction made refer to it after the delete collected what
    referred to it fails the delete itself."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        return sqlstate == _FOREIGN_KEY_SQLSTATE
    return getattr(cause, "sqlite_errorname", None) == _FOREIGN_KEY_SQLITE


@contextmanager
def _messages_after_commit(request: HttpRequest) -> Iterator[None]:
    """Messages the admin adds inside the block are said only if it ends
    without an error: Django says "deleted" before the transaction commits,
    and a delete refused at commit deleted nothing. Read by
    GuardedAdminMixin.message_user."""
    held: list[partial[None]] = []
    request.held_messages = held  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del request.held_messages  # type: ignore[attr-defined]
    for say in held:
        say()


# The change page's hidden field: the row as the page showed it
# (GuardedAdminMixin.row_version).
ROW_VERSION_FIELD = "_row_version"


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def _opened_version(posted: str) -> dict:
    """The version a change page was opened with (GuardedAdminMixin.row_version);
    one that cannot be read matches no rows."""
    try:
        opened = json.loads(posted)
    # RecursionError: arrays nested deeper than the reader goes ("[" * 2000).
    except (ValueError, RecursionError):
        opened = None
    if not (
        isinstance(opened, dict)
        and isinstance(opened.get("fields"), dict)
        and isinstance(opened.get("related"), dict)
    ):
        return {"fields": {}, "related": {}}
    return opened


def _stored_display(field: models.Field, value: object, form_field) -> str:  # type: ignore[no-untyped-def]
    """A stored value as the change page shows it: a choice's label, a date
    the Japanese way, a row's name, a phone number hyphenated (the form
    field's own display, PhoneNumberField)."""
    if value is None or value == "":
        return _("（空欄）")
    if field.flatchoices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("はい") if value else _("いいえ")
    if isinstance(value, dt.datetime):
        return format_moment(value)
    if isinstance(value, dt.date):
        return format_day(value)
    if field.is_relation and field.related_model is not None:
        row = field.related_model._default_manager.filter(pk=value).first()
        return str(row) if row is not None else str(value)
    if form_field is not None:
        return str(form_field.prepare_value(value))
    return str(value)


class GuardedAdminMixin(JapaneseDatesMixin):
    def get_changelist(self, request, **kwargs):  # type: ignore[no-untyped-def]
        return GuardedChangeList

    def response_action(self, request, queryset):  # type: ignore[no-untyped-def]
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(parse_row_id(value) is None for value in selected):
            self.message_user(  # type: ignore[attr-defined]
                request, _("選択された項目が正しくありません。"), messages.WARNING
            )
            return None  # the list is shown again
        return super().response_action(request, queryset)  # type: ignore[misc]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # The add and change pages (Django's view runs in one transaction).
        return self._refused_on_the_form(
            request,
            partial(
                super().changeform_view,  # type: ignore[misc]
                request,
                object_id,
                form_url,
                extra_context,
            ),
        )

    def _refused_on_the_form(self, request, view):  # type: ignore[no-untyped-def]
        """``view``, whose save was refused, shown again as the form with why
        and with what was typed, instead of a server error.

        A service refuses (ValidationError) what its checks, made again under
        its locks, find after the form's: another admin's save committed in
        between (a credit's invoice voided, or its draft issued). Said on the
        form, unless the form's own checks now see it themselves.

        A database constraint refuses (IntegrityError) what the form does not
        check under a lock. Two admins at once (or a double click) both pass
        the form's checks, and the second save meets the first one's row: two
        recipients edited into copies, two numbers into the same digits. A
        unique index waits for the first to commit, so the same request again
        meets that row in its form's own checks, which say so on its field. A
        rule the form does not check, or a check constraint (of the row alone,
        so the same again), is said above the form. Each try rolls back
        entirely.
        """
        try:
            return view()
        except ValidationError as refusal:
            return self._shown_again(request, view, refusal)
        except IntegrityError as error:
            refusal = _constraint_refusal(error)
            if refusal is None:
                raise
        if refusal[0] == "unique":
            try:
                return view()
            except IntegrityError as error:
                refusal = _constraint_refusal(error)
                if refusal is None:
                    raise
        logger.warning(
            "%s: the form did not check the rule the database refused (%s %s)",
            request.path,
            *refusal,
        )
        message = self._refusal_message(*refusal)
        return self._shown_again(
            request, view, ValidationError(message, code="refused")
        )

    def _shown_again(self, request, view, refusal: ValidationError):  # type: ignore[no-untyped-def]
        # Read by get_form and by the permissions below, for this request only.
        request.refused_save = (self, refusal)
        return view()

    def _refused_save(self, request) -> ValidationError | None:  # type: ignore[no-untyped-def]
        admin_and_refusal = getattr(request, "refused_save", None)
        if admin_and_refusal is None or admin_and_refusal[0] is not self:
            return None
        return admin_and_refusal[1]

    # The refused form is shown again as it was sent, although its row may
    # have become one the admin can no longer change (the refusal says so: a
    # credit issued meanwhile): Django would answer 403. The form shown again
    # saves nothing (get_form), and the admin could send it a moment ago.
    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        if self._refused_save(request) is not None:
            return True
        return super().has_change_permission(request, obj)  # type: ignore[misc]

    def _refusal_message(self, kind: str, name: str) -> str:
        # The constraint's own words when it has some (clients.models).
        models_saved = [self.model] + [inline.model for inline in self.inlines]  # type: ignore[attr-defined]
        for model in models_saved:
            for constraint in model._meta.constraints:
                if (
                    constraint.name == name
                    and constraint.violation_error_message
                    is not constraint.default_violation_error_message
                ):
                    return str(constraint.get_violation_error_message())
        if kind == "unique":
            return _(
                "同じ内容がすでに保存されています（別の画面で同時に保存されたか、"
                "二重に送信された可能性があります）。入力内容を確認してください。"
            )
        return _("入力内容がデータベースの規則に合わないため、保存できませんでした。")

    def get_form(self, request, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, **kwargs)  # type: ignore[misc]
        if obj is not None:
            form = self._refusing_changes_made_meanwhile(request, form)
        refusal = self._refused_save(request)
        if refusal is None:
            return form

        class RefusedForm(form):  # type: ignore[misc, valid-type]
            def full_clean(self) -> None:
                super().full_clean()
                if not self.is_bound or self._errors:
                    return  # the form's own checks said it, on their fields
                if not hasattr(refusal, "error_dict"):
                    self.add_error(None, refusal)
                    return
                for field, errors in refusal.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)

        RefusedForm.__name__ = form.__name__
        return RefusedForm

    # Last save wins no more. Two admins open the same row's page, both edit,
    # both save: the second overwrote the first's changes (and a service's,
    # such as a number lent or a portal request applied meanwhile) with the
    # values its page had loaded. The page carries the version of the rows it
    # showed (templates/admin/change_form.html): a digest of each of the row's
    # fields, and one of its many-to-many choices and its inlines' rows. The
    # save compares it with the rows as stored, under the row's lock, and is
    # refused when it would put back a field changed meanwhile, or when the
    # related rows changed at all (the inline rows typed were typed against
    # others). A field changed meanwhile that the save leaves as stored (the
    # admin's own earlier save, a login time) is no loss. Digests need no
    # column; a version column on the row would miss the inline rows. A
    # revert's page carries one too (render_history_view), and a post without
    # one (a page opened before pages carried it, a script) is refused, not
    # saved unchecked.
    def _stored_version(self, request, obj, *, lock: bool = False):  # type: ignore[no-untyped-def]
        """(the row's field values by attname, its related rows by
        ``_related_names``' keys), as stored."""
        model = self.model  # type: ignore[attr-defined]
        # By its key alone: a model ordered by a related row's field would
        # join that row, and lock it too.
        row = model._default_manager.filter(pk=obj.pk).order_by("pk")
        if lock:
            # A row that another page saves too (a recipient, an inline row of
            # its client's page) is saved under that page's row's lock, taken
            # first as that page takes it: two pages saved at once wait for
            # each other, and the second compares with the first's rows
            # (``row_locked_under``: the foreign key to that row; read with
            # getattr, as ``history_revert_allowed``).
            under = getattr(self, "row_locked_under", None)
            if under is not None:
                key = model._meta.get_field(under)
                key.related_model._default_manager.select_for_update(
                    no_key=True
                ).filter(pk=getattr(obj, key.attname)).exists()
            # NO KEY, as Client.objects.lock: a call saved for the client (a
            # key-share lock) never waits on an admin's save.
            row = row.select_for_update(no_key=True)
        names = [field.attname for field in model._meta.concrete_fields]
        fields = row.values(*names).first() or {}
        related: dict[str, object] = {}
        for field in model._meta.many_to_many:
            chosen = field.m2m_reverse_name()
            related[f"m2m.{field.name}"] = list(
                field.remote_field.through._default_manager.filter(
                    **{field.m2m_field_name(): obj.pk}
                )
                .order_by(chosen)
                .values_list(chosen, flat=True)
            )
        for inline in self.inlines:  # type: ignore[attr-defined]
            key = _get_foreign_key(model, inline.model, fk_name=inline.fk_name)
            rows = inline.model._default_manager.filter(**{key.name: obj.pk})
            inline_names = [f.attname for f in inline.model._meta.concrete_fields]
            related[f"{inline.model._meta.label_lower}.{key.name}"] = list(
                rows.order_by("pk").values_list(*inline_names)
            )
        return fields, related

    def _related_names(self) -> dict[str, str]:
        """What the change page calls each of ``_stored_version``'s related
        rows: a many-to-many field's label, an inline's heading."""
        model = self.model  # type: ignore[attr-defined]
        names = {
            f"m2m.{field.name}": str(field.verbose_name)
            for field in model._meta.many_to_many
        }
        for inline in self.inlines:  # type: ignore[attr-defined]
            key = _get_foreign_key(model, inline.model, fk_name=inline.fk_name)
            names[f"{inline.model._meta.label_lower}.{key.name}"] = str(
                inline.verbose_name_plural or inline.model._meta.verbose_name_plural
            )
        return names

    def row_version(self, request, obj) -> str:  # type: ignore[no-untyped-def]
        """What the page shows of ``obj``'s rows, for its hidden field."""
        fields, related = self._stored_version(request, obj)
        return json.dumps(
            {
                "fields": {name: _digest(value) for name, value in fields.items()},
                "related": {name: _digest(rows) for name, rows in related.items()},
            }
        )

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if change and obj is not None:
            self._with_row_version(request, context, obj)
        return super().render_change_form(  # type: ignore[misc]
            request, context, add, change, form_url, obj
        )

    def render_history_view(self, request, template, context, **kwargs):  # type: ignore[no-untyped-def]
        # A revert's page (django-simple-history) carries the version of the
        # row as it is when the page is opened, not of the past version shown:
        # a revert saved after another change is refused as a save is.
        if template == self.object_history_form_template and not context.get(  # type: ignore[attr-defined]
            "revert_disabled"
        ):
            self._with_row_version(request, context, context["original"])
        return super().render_history_view(request, template, context, **kwargs)  # type: ignore[misc]

    def _with_row_version(self, request, context, obj) -> None:  # type: ignore[no-untyped-def]
        # A page shown again after a refused save keeps the version it was
        # opened with, or its lack of one: sent again as it is, it is refused
        # again, never saved over the other change.
        if request.method == "POST":
            context["row_version"] = request.POST.get(ROW_VERSION_FIELD, "")
        else:
            context["row_version"] = self.row_version(request, obj)
        adminform = context.get("adminform")
        if adminform is not None and adminform.form.has_error(
            NON_FIELD_ERRORS, code="changed_meanwhile"
        ):
            # Its own heading (templates/admin/includes/row_version.html)
            # instead of Django's "correct the errors below": nothing typed is
            # wrong.
            context["changed_meanwhile"] = True
            context["errors"] = []

    def _refusing_changes_made_meanwhile(self, request, form):  # type: ignore[no-untyped-def]
        model_admin = self
        model = self.model  # type: ignore[attr-defined]
        changed_meanwhile = _(
            "この画面を開いた後に、別の担当者（または別の画面での操作）が"
            "この%(model)sを変更しました。その変更はそのまま残し、この画面の"
            "入力内容は保存していません。下に残した入力内容を控えてから、"
            "この画面を開き直して、もう一度入力してください。"
        ) % {"model": model._meta.verbose_name}
        unversioned = _(
            "この画面の送信内容には、画面を開いた時点の%(model)sの情報がないため、"
            "ほかの担当者の変更を上書きしないよう保存していません。この画面を"
            "開き直して、もう一度入力してください。"
        )
        fields_by_attname = {field.attname: field for field in model._meta.fields}

        class VersionedForm(form):  # type: ignore[misc, valid-type]
            def full_clean(self) -> None:
                if not self.is_bound or self.instance.pk is None:
                    super().full_clean()
                    return
                posted = self.data.get(ROW_VERSION_FIELD)
                if not posted:
                    # Every page that saves a row carries its version; one
                    # opened before pages did, or a hand-made post, could be
                    # saved over any change made since, unseen.
                    super().full_clean()
                    self.add_error(
                        None,
                        ValidationError(
                            unversioned % {"model": model._meta.verbose_name},
                            code="unversioned",
                        ),
                    )
                    return
                # Under the row's lock until the page's transaction ends: of
                # two saves at once, the second compares with the first's
                # committed rows.
                with transaction.atomic():
                    fields, related = model_admin._stored_version(
                        request, self.instance, lock=True
                    )
                super().full_clean()
                opened = _opened_version(posted)
                # A field changed meanwhile that this save leaves as stored (the
                # admin's own earlier save, a login time) is no loss.
                overwritten = [
                    name
                    for name, value in fields.items()
                    if opened["fields"].get(name) != _digest(value)
                    and getattr(self.instance, name) != value
                ]
                # A revert saves the row alone (its page shows no related rows).
                related_changed = [
                    key
                    for key, rows in related.items()
                    if opened["related"].get(key) != _digest(rows)
                    and not getattr(request, "reverting", False)
                ]
                if not (overwritten or related_changed):
                    return
                # Only digests of the opened values are kept: what is shown is
                # what the other save stored, beside what this page typed.
                said = [ValidationError(changed_meanwhile, code="changed_meanwhile")]
                for name in overwritten:
                    field = fields_by_attname.get(name)
                    if field is None:
                        continue
                    form_field = self.fields.get(field.name)
                    label = form_field.label if form_field else field.verbose_name
                    said.append(
                        ValidationError(
                            _("別の担当者が保存した内容: %(field)s = %(value)s")
                            % {
                                "field": label,
                                "value": _stored_display(
                                    field, fields[name], form_field
                                ),
                            },
                            code="changed_meanwhile_field",
                        )
                    )
                    if form_field is not None:
                        self.add_error(
                            field.name,
                            ValidationError(
                                _("別の担当者が変更しました"),
                                code="changed_meanwhile",
                            ),
                        )
                names = model_admin._related_names()
                said.extend(
                    ValidationError(
                        _(
                            "別の担当者が保存した内容: 「%(rows)s」の行が変わりました"
                            "（開き直すと表示されます）"
                        )
                        % {"rows": names.get(key, key)},
                        code="changed_meanwhile_rows",
                    )
                    for key in related_changed
                )
                self.add_error(None, said)

        VersionedForm.__name__ = form.__name__
        return VersionedForm

    def message_user(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        held = getattr(request, "held_messages", None)
        if held is not None:  # _messages_after_commit
            held.append(partial(super().message_user, request, *args, **kwargs))  # type: ignore[misc]
            return
        super().message_user(request, *args, **kwargs)  # type: ignore[misc]

    def delete_view(self, request, object_id, extra_context=None):  # type: ignore[no-untyped-def]
        # A service's refusal of the delete (made under its locks: a credit
        # issued since the page was opened) is said on the row's page. So is
        # a row another transaction made refer to this one while it was
        # deleted (a number lent to the client at that moment): the foreign
        # key refuses the delete at commit, which was a server error.
        try:
            with _messages_after_commit(request):
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except ValidationError as refusal:
            message = " ".join(refusal.messages)
        except IntegrityError as error:
            if not _refers_to_a_deleted_row(error):
                raise
            logger.info("%s: referred to while deleted, not deleted", request.path)
            message = _(
                "この%(model)sは、同じ時刻に別の画面で保存されたデータから"
                "使われるようになったため、削除していません。"
            ) % {"model": self.model._meta.verbose_name}  # type: ignore[attr-defined]
        self.message_user(request, message, messages.ERROR)
        opts = self.model._meta  # type: ignore[attr-defined]
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", object_id)

    def history_view(self, request, object_id, extra_context=None):  # type: ignore[no-untyped-def]
        # django-simple-history's view parsed the id unchecked ("a" was a 500).
        if parse_row_id(unquote(object_id)) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    # django-simple-history's "Revert" saves a past version through the change
    # form, which then takes the past version for the row itself: fields the
    # change page shows read-only come back too (a returned number's 返却日, a
    # credit's invoice), rules that compare with the row compare with the past
    # (a lent number's digits), and save_model's services meet rows that moved
    # on, or the database's constraints (a 500). So it is off, the history
    # still shown, unless an admin class says its form checks all of it
    # (``history_revert_allowed = True``; read with getattr, since this mixin
    # comes first and a default here would hide the admin class's own).
    def revert_disabled(self, request, obj=None):  # type: ignore[no-untyped-def]
        if not getattr(self, "history_revert_allowed", False):
            return True
        return super().revert_disabled(request, obj)  # type: ignore[misc]

    def history_form_view(self, request, object_id, version_id, extra_context=None):  # type: ignore[no-untyped-def]
        object_id, version_id = unquote(object_id), unquote(version_id)
        if parse_row_id(object_id) is None or parse_row_id(version_id) is None:
            raise Http404
        # The library hides the button but saves whatever is posted.
        if request.method == "POST" and self.revert_disabled(
            request,
            self.get_object(request, object_id),  # type: ignore[attr-defined]
        ):
            self.message_user(  # type: ignore[attr-defined]
                request,
                _("この履歴からは元に戻せません。変更は各画面の操作で行ってください。"),
                messages.ERROR,
            )
            opts = self.model._meta  # type: ignore[attr-defined]
            return redirect(
                f"admin:{opts.app_label}_{opts.model_name}_history", object_id
            )
        # One transaction, as Django's change view: the rows the form locks
        # stay locked until the revert is saved, and a failed save leaves
        # nothing half written (and is shown on the form, as on the change page).
        revert = super().history_form_view  # type: ignore[misc]
        request.reverting = True  # read by _refusing_changes_made_meanwhile

        def in_one_transaction():  # type: ignore[no-untyped-def]
            with transaction.atomic():
                return revert(request, object_id, version_id, extra_context)

        return self._refused_on_the_form(request, in_one_transaction)


@admin.action(
    permissions=["delete"],
    description=delete_selected.short_description,  # Django's words, translated
)
def delete_selected_at_once(modeladmin, request, queryset):  # type: ignore[no-untyped-def]
    """Django's bulk delete, all or nothing.

    Django logs each deletion, then deletes the rows, each in a transaction of
    its own when the admin deletes them through a service (a credit): a refusal
    midway (a credit issued since the list was shown) was a server error, and
    the rows before it stayed deleted. One transaction here; a service's
    refusal undoes them all, and is said above the list.
    """
    try:
        with _messages_after_commit(request), transaction.atomic():
            return delete_selected(modeladmin, request, queryset)
    except ValidationError as refusal:
        reasons = refusal.messages
    except IntegrityError as error:
        # A row another transaction made refer to a selected one meanwhile
        # (GuardedAdminMixin.delete_view).
        if not _refers_to_a_deleted_row(error):
            raise
        logger.info("%s: referred to while deleted, not deleted", request.path)
        reasons = [
            _(
                "選択した項目のうち、同じ時刻に別の画面で保存されたデータから"
                "使われるようになったものがあります。"
            )
        ]
    modeladmin.message_user(
        request,
        " ".join([*reasons, _("選択した項目は1件も削除していません。")]),
        messages.ERROR,
    )
    return None  # the list again, as after a deletion


@dataclasses.dataclass(frozen=True)
class WaitingItem:
    label: str
    count: int
    url: str


def waiting_for_admin() -> list[WaitingItem]:
    """What waits for the admin, for the top of the admin's start page: the
    clients' open requests of each kind, each linked to its list filtered to
    受付中, and the reports that could not be sent. One count per kind."""
    # The apps above config: imported when the page is drawn.
    from portal.models import (
        BillingEmailChangeRequest,
        CancellationRequest,
        PlanChangeRequest,
        RecipientChangeRequest,
        RequestStatus,
    )
    from reporting.models import Delivery

    items = []
    for model in (
        PlanChangeRequest,
        RecipientChangeRequest,
        BillingEmailChangeRequest,
        CancellationRequest,
    ):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        items.append(
            WaitingItem(
                label=str(opts.verbose_name_plural),
                count=model.objects.filter(status=RequestStatus.OPEN).count(),
                url=f"{url}?status__exact={RequestStatus.OPEN}",
            )
        )
    items.append(
        WaitingItem(
            label=_("送信できなかった報告"),
            count=Delivery.objects.failed().count(),
            url=reverse("reporting:failed"),
        )
    )
    return items


class AdminSite(admin.AdminSite):
    # A blank value as the console and the portal show it (Django's is "-").
    empty_value_display = "—"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self.add_action(delete_selected_at_once, "delete_selected")

    # The admin's "change password" opens the staff page (clients.views), whose
    # old password counts towards the login lockout; Django's admin page checks
    # it without limit, and its template is shadowed by the staff page's anyway.
    def password_change(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        return redirect("password_change")

    def password_change_done(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        return redirect("password_change_done")

    def index(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        waiting = waiting_for_admin()
        return super().index(
            request,
            {
                **(extra_context or {}),
                "waiting_for_admin": waiting,
                "nothing_waiting": not any(item.count for item in waiting),
            },
        )

    def get_app_list(self, request, app_label=None):  # type: ignore[no-untyped-def]
        # The business menus first; django-axes' records of logins (kept for
        # unlocking a locked-out user) last, under their Japanese heading.
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: app["app_label"] == "axes")

    def register(self, model_or_iterable, admin_class=None, **options):  # type: ignore[no-untyped-def]
        admin_class = admin_class or admin.ModelAdmin
        guarded = type(
            admin_class.__name__,
            (GuardedAdminMixin, admin_class),
            {
                "__module__": admin_class.__module__,
                # Inline rows are forms of their own (a recipient's dates).
                "inlines": [
                    type(
                        inline.__name__,
                        (JapaneseDatesMixin, inline),
                        {"__module__": inline.__module__},
                    )
                    for inline in admin_class.inlines
                ],
            },
        )
        super().register(model_or_iterable, guarded, **options)
