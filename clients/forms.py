import datetime as dt
import logging
import unicodedata
from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.forms.models import InlineForeignKeyField
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from clients import password_reset
from clients.dates import JapaneseDateField
from clients.models import (
    Client,
    ClientPerson,
    LentNumber,
    NumberAssignment,
    Plan,
    PlanPrice,
    User,
    validate_plausible_date,
)
from clients.months import japan_today
from clients.phones import format_phone, normalize_phone, try_normalize_phone
from clients.services import refuse_cancellation_date
from config.client_ip import client_ip

logger = logging.getLogger(__name__)


class PhoneNumberField(forms.CharField):
    """A Japanese phone number typed in any format, cleaned to E.164, and shown
    hyphenated (03-5050-1001) as everywhere else: an office worker does not
    read +81. Saving it unchanged is no change (has_changed compares what
    to_python reads, E.164)."""

    def prepare_value(self, value):
        # Only a stored number (a valid one in E.164): a number typed with a
        # mistake, "+8135050" too, is shown again as typed.
        if isinstance(value, str) and try_normalize_phone(value) == value:
            return format_phone(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return normalize_phone(value)


_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}


def as_katakana(text: str) -> str:
    """Kana as the kana fields hold it: full-width katakana.

    A Japanese keyboard shows hiragana until the word is converted, and some
    keyboards type half-width katakana; the operator searches while typing.
    """
    return unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA)


def normalize_typed_email(value: str) -> str:
    """An address as a Japanese keyboard may type it, in the form it is kept:
    full-width letters and ＠ (ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ) read as their
    half-width forms, and no surrounding spaces (half- or full-width)."""
    return unicodedata.normalize("NFKC", value).strip()


class TypedEmailField(forms.EmailField):
    """An e-mail field that reads an address with ``normalize_typed_email``."""

    def to_python(self, value: Any) -> str:
        if isinstance(value, str):
            value = normalize_typed_email(value)
        return super().to_python(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        # An address sent back as the page showed it is no change, even one
        # this field would now read otherwise (kept full-width, clients/0010).
        if initial not in self.empty_values and data == initial:
            return False
        return super().has_changed(initial, data)

    def run_validators(self, value: Any) -> None:
        # One message: an address Django's own check refuses is also one that
        # validate_sendable_email cannot send to, and the two messages side by
        # side said the same thing twice. The first refusal is the one said.
        try:
            super().run_validators(value)
        except ValidationError as exc:
            raise ValidationError(exc.error_list[:1]) from exc


class LockedRowForm(forms.ModelForm):
    """An admin page's form for a saved row that first locks the row, until the
    admin's transaction commits (Django's change view runs in one, and so does
    a revert, config.admin_site; the atomic block keeps the form usable outside
    one).

    Its rules read other rows (a client's numbers and recipients, a number's
    lending, a plan's prices) that other admins add under the same row's lock
    (services.assign_number, set_plan, another page's save): without it, each
    request checked against what it had read and both committed. NO KEY, as
    ClientQuerySet.lock: rows that only refer to it (a call, a delivery) are
    never held up. A row deleted meanwhile is left to the admin's own message.
    """

    def full_clean(self) -> None:
        if self.is_bound and self.instance.pk is not None:
            with transaction.atomic():
                type(self.instance).objects.select_for_update(no_key=True).filter(
                    pk=self.instance.pk
                ).exists()
        super().full_clean()


def clean_typed_kana(form: forms.ModelForm, name: str) -> str:
    """A reading (カナ) as the kana fields hold it: full-width katakana, typed
    in hiragana or half-width kana as well. Clients are listed and searched by
    it (the console looks it up in katakana): one typed in romaji or hiragana
    was listed out of order and never found by its reading.

    A reading left as shown is kept as stored, even one saved before this
    rule: the page is then saved for what the admin changed.
    """
    value: str = form.cleaned_data[name]
    if name not in form.changed_data:
        return value
    kana = " ".join(as_katakana(value).split())
    if not all(_is_kana(ch) for ch in kana):
        raise forms.ValidationError(
            _(
                "カナはカタカナかひらがなで入力してください"
                "（ローマ字・漢字・記号は使えません）。"
            ),
            code="not_kana",
        )
    return kana


def _is_kana(ch: str) -> bool:
    # The katakana block holds ー and ・ too; digits are read as written.
    return ch == " " or "0" <= ch <= "9" or "\u30a0" <= ch <= "\u30ff"


class ClientPersonInlineForm(forms.ModelForm):
    class Meta:
        model = ClientPerson
        fields = ["name", "name_kana", "title", "note", "display_order"]

    def clean_name_kana(self) -> str:
        return clean_typed_kana(self, "name_kana")


class ClientAdminForm(LockedRowForm):
    own_number = PhoneNumberField(
        label=_("お客様の電話番号（転送元）"), required=False, max_length=30
    )
    # Longer than the id it keeps: the room's address may be pasted
    # (clean_chatwork_room_id); the model's rules check the id left.
    chatwork_room_id = forms.CharField(
        label=_("チャットワークのルームID"), required=False, max_length=200
    )

    class Meta:
        model = Client
        fields = [
            "name",
            "name_kana",
            "announce_name",
            "status",
            "operator_notes",
            "trial_started_on",
            "contract_started_on",
            "cancelled_on",
            "report_by_email",
            "report_by_chatwork",
            "chatwork_room_id",
            "own_number",
            "payment_method",
            "billing_email",
        ]
        # Read as a recipient's addresses are (full-width letters and ＠).
        field_classes = {"billing_email": TypedEmailField}

    def clean_name_kana(self) -> str:
        return clean_typed_kana(self, "name_kana")

    def clean_chatwork_room_id(self) -> str:
        # Typed in full width (１２３４５６), or pasted as the room's address
        # in Chatwork (https://www.chatwork.com/#!rid123456): its digits.
        typed = unicodedata.normalize("NFKC", self.cleaned_data["chatwork_room_id"])
        typed = typed.strip()
        _address, marker, room = typed.rpartition("#!rid")
        return room if marker else typed

    def clean_cancelled_on(self) -> dt.date | None:
        cancelled_on = self.cleaned_data["cancelled_on"]
        if cancelled_on is None or self.instance.pk is None:
            return cancelled_on
        # Under the client's lock (LockedRowForm); the portal's cancellation
        # request is applied through the same rules.
        refuse_cancellation_date(client_id=self.instance.pk, cancelled_on=cancelled_on)
        return cancelled_on

    def _update_errors(self, errors: ValidationError) -> None:
        # A date that could not be read is not on the client when the model
        # checks it: its own error says what to fix, not also "a client under
        # contract needs a contract date" (one was typed).
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {
                    field: messages
                    for field, messages in errors.error_dict.items()
                    if field == NON_FIELD_ERRORS or field not in self.errors
                }
            )
        super()._update_errors(errors)


class InlineRowForm(forms.ModelForm):
    """A row of an inline (a client's recipient, a plan's price), checked
    against the database's unique rules that name its parent as well.

    Django leaves the parent's key out of an inline row's model checks, so a
    row entered again (a page sent twice, a reload that posts it again) met
    the constraint on INSERT: a server error instead of the form's message.
    """

    def validate_unique(self) -> None:
        super().validate_unique()
        parents = {
            name
            for name, field in self.fields.items()
            if isinstance(field, InlineForeignKeyField)
        }
        model = type(self.instance)
        if not parents or any(
            getattr(self.instance, model._meta.get_field(name).attname) is None
            for name in parents
        ):
            return  # a parent being added has no rows to meet yet
        exclude = self._get_validation_exclusions() - parents
        errors = []
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and parents & set(
                constraint.fields
            ):
                try:
                    constraint.validate(model, self.instance, exclude=exclude)
                except ValidationError as error:
                    errors.append(error)
        if errors:
            self._update_errors(ValidationError(errors))


class LentNumberAdminForm(LockedRowForm):
    # Locked (LockedRowForm): assign_number reads the kind and digits under the
    # number's lock, so a number cannot turn FAX, or get other digits, as it is
    # being lent.
    number = PhoneNumberField(
        label=_("番号"),
        max_length=30,
        # Django's own words name the field's storage format (E.164).
        error_messages={"unique": _("この番号はすでに登録されています。")},
    )

    class Meta:
        model = LentNumber
        fields = ["number", "kind", "note"]

    def clean(self):
        cleaned = super().clean() or {}
        number, kind = cleaned.get("number"), cleaned.get("kind")
        if (
            number
            and kind == LentNumber.Kind.TOKYO_03
            and not number.startswith("+813")
        ):
            self.add_error(
                "kind", _("東京03番号の種類には03で始まる番号を入力してください。")
            )
        if number and kind == LentNumber.Kind.IP_050 and not number.startswith("+8150"):
            self.add_error(
                "kind", _("050番号の種類には050で始まる番号を入力してください。")
            )
        if self.instance.pk is not None:
            self._keep_what_lending_relies_on(number, kind)
        return cleaned

    def _keep_what_lending_relies_on(
        self, number: str | None, kind: str | None
    ) -> None:
        """A number once lent keeps its digits (its history, the screen pop and
        the fees follow them), and one lent now keeps a kind fitting its use."""
        assignments = self.instance.assignments
        if number and number != self.instance.number and assignments.exists():
            self.add_error(
                "number",
                _(
                    "貸し出したことのある番号は変更できません。新しい番号として登録してください。"
                ),
            )
        current = assignments.current().first()
        if current is not None and kind and kind != self.instance.kind:
            is_fax_use = current.use == NumberAssignment.Use.FAX
            if (kind == LentNumber.Kind.FAX) != is_fax_use:
                self.add_error(
                    "kind",
                    _(
                        "貸出中の用途（%(use)s）に合わない種類には変更できません。"
                        "返却してから変更してください。"
                    )
                    % {"use": current.get_use_display()},
                )


class UserAdminChangeForm(auth_forms.UserChangeForm):
    """Django's user form, keeping at least one active admin: the last one who
    gave up the role or was deactivated locked everyone out of the admin site
    (users and roles are managed only there). The address is read as the
    recipients' are (full-width typing)."""

    class Meta(auth_forms.UserChangeForm.Meta):
        field_classes = {
            **auth_forms.UserChangeForm.Meta.field_classes,
            "email": TypedEmailField,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user = self.instance
        role = cleaned.get("role", user.role)
        is_active = cleaned.get("is_active", user.is_active)
        if user.pk is None or (role == User.Role.ADMIN and is_active):
            return cleaned
        # Locked (PostgreSQL) until the admin's save commits: two admins
        # demoting each other at once must not both see the other one left.
        # The admin's change view runs in a transaction; atomic() keeps this
        # usable without one.
        with transaction.atomic():
            active_admins = list(
                User.objects.select_for_update()
                .filter(role=User.Role.ADMIN, is_active=True)
                .values_list("pk", flat=True)
            )
        if active_admins == [user.pk]:
            self.add_error(
                "is_active" if role == User.Role.ADMIN else "role",
                _(
                    "このユーザーは最後の有効な管理者です。管理画面に入れる人が"
                    "いなくなるため、役割の変更も無効化もできません。"
                    "先に別の管理者を登録してください。"
                ),
            )
        return cleaned


class PlanAdminForm(LockedRowForm):
    """Locked, so that a page sent twice adds its new price once: the second
    waits, then meets the first one's row in the price's checks."""

    class Meta:
        model = Plan
        fields = ["code", "name", "display_order"]


class PlanPriceAdminForm(InlineRowForm):
    """A plan's price from a date. A price already in force is history: months
    were billed with it, so it is shown read-only; a new one starts today or
    later (a change of price is a new row, never an edit)."""

    class Meta:
        model = PlanPrice
        fields = ["valid_from", "monthly_fee_yen", "included_calls", "per_call_yen"]
        # What billing does with it (billing.pricing.price_on), which the date
        # alone does not say.
        help_texts = (
            {
                "valid_from": _(
                    "月の料金は、その月の最初の請求日の料金です。1日以外の日にすると、"
                    "その月は、それより前から請求しているお客様には前の料金のまま"
                    "（新しい料金は翌月分から）、その日以降に請求が始まるお客様には"
                    "新しい料金で請求します。全員を同じ月から変えるには1日にしてください。"
                )
            },
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_force = (
            self.instance.pk is not None and self.instance.valid_from <= japan_today()
        )
        if self.in_force:
            for field in self.fields.values():
                field.disabled = True

    def clean_valid_from(self) -> dt.date:
        valid_from = self.cleaned_data["valid_from"]
        if not self.in_force and valid_from < japan_today():
            raise forms.ValidationError(
                _(
                    "新しい料金の適用開始日は今日以降にしてください（過去の月の料金は変えられません）。"
                )
            )
        return valid_from


class JapaneseDuplicatesFormSet(forms.BaseInlineFormSet):
    """Two rows of the page that would be the same row are named by their labels
    (Django's message names the fields by their code names)."""

    def get_unique_error_message(self, unique_check: tuple[str, ...]) -> str:
        labels = [
            str(self.model._meta.get_field(name).verbose_name) for name in unique_check
        ]
        return _("%(fields)s が同じ行が重複しています。どちらかを直してください。") % {
            "fields": gettext("・").join(labels)
        }


class PlanPriceFormSet(JapaneseDuplicatesFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if getattr(form, "in_force", False) and "DELETE" in form.fields:
            form.fields["DELETE"].disabled = True  # a price in force stays


# A recipient's addresses read as on the portal's request form (TypedEmailField),
# on the client's page (an inline row) and on the recipient's own page.
RECIPIENT_FIELD_CLASSES = {"pc_email": TypedEmailField, "mobile_email": TypedEmailField}


class KeepsUntouchedAddresses(forms.ModelForm):
    """A saved recipient's form that keeps an address the admin left as shown.

    Migration clients/0010 left some addresses full-width where the half-width
    one would repeat another recipient of the client (recipient_entered_once).
    Read half-width again, that untouched row was refused as a copy: the
    client's page could not be saved at all, nor the copy's 報告終了日. An
    address typed anew is still read half-width and checked, a copy refused.
    """

    _kept_as_stored: frozenset[str] = frozenset()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kept = set()
        if self.instance.pk is not None:
            for name in ("pc_email", "mobile_email"):
                stored = getattr(self.instance, name)
                if (
                    name in cleaned
                    and name not in self.changed_data
                    and cleaned[name] != stored
                ):
                    cleaned[name] = stored
                    kept.add(name)
        self._kept_as_stored = frozenset(kept)
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # The stored address is not judged again as if typed (it would be
        # refused as no address at all); it is the row's as it was.
        return super()._get_validation_exclusions() | self._kept_as_stored

    def validate_unique(self) -> None:
        # ...but the row's rules (recipient_entered_once) still look at it: a
        # name or date changed beside it must not make a copy.
        kept, self._kept_as_stored = self._kept_as_stored, frozenset()
        try:
            super().validate_unique()
        finally:
            self._kept_as_stored = kept


class ReportRecipientInlineForm(KeepsUntouchedAddresses, InlineRowForm):
    class Meta:
        field_classes = RECIPIENT_FIELD_CLASSES


class ReportRecipientAdminForm(KeepsUntouchedAddresses):
    class Meta:
        field_classes = RECIPIENT_FIELD_CLASSES

    def _get_validation_exclusions(self) -> set[str]:
        # The client is read-only on a recipient's own page, so Django would
        # leave out every rule naming it: a recipient edited into a copy of
        # another one then met the database's constraint (a 500), not this form.
        # On the page that adds one, the client is a field: left out when it
        # failed (blank), as Django leaves it, or the rules would meet no client.
        exclusions = super()._get_validation_exclusions()
        if "client" not in self.fields:
            exclusions.discard("client")
        return exclusions


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("新しいプラン"), queryset=Plan.objects.all(), empty_label=None
    )


class AssignNumberForm(forms.Form):
    number = forms.ModelChoiceField(
        label=_("貸し出す番号"), queryset=LentNumber.objects.all()
    )
    use = forms.ChoiceField(label=_("利用方法"), choices=NumberAssignment.Use.choices)
    assigned_on = JapaneseDateField(
        label=_("貸出開始日"),
        validators=[validate_plausible_date],
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offered: the numbers free today, with their kind. Any number is still
        # accepted, so that one lent or returned meanwhile (by another admin)
        # is refused by the service, which says why.
        number = self.fields["number"]
        lendable = LentNumber.objects.lendable_on(today)
        number.choices = [
            ("", number.empty_label),
            *(
                (lent.pk, f"{lent.display}（{lent.get_kind_display()}）")
                for lent in lendable
            ),
        ]
        if len(number.choices) == 1:
            number.help_text = _(
                "貸し出せる番号がありません（すべて貸出中か休止中です）。"
                "「貸出番号」の一覧で番号を追加してください。"
            )


class ReleaseNumberForm(forms.Form):
    released_on = JapaneseDateField(
        label=_("返却日（最後に貸し出していた日）"),
        validators=[validate_plausible_date],
        help_text=_(
            "番号は登録した時点でこの顧客に着信しなくなります。月末の返却を翌月の初めに"
            "処理するときは月末の日付にしてください（翌月分の番号料金はかかりません）。"
        ),
    )


def _network_of(address: str | None) -> IPv4Network | IPv6Network | None:
    """The address, or for IPv6 its /64: one subscriber holds a whole /64 and
    may use a new address for every try."""
    try:
        ip = ip_address(address or "")
    except ValueError:
        return None
    return ip_network(f"{ip}/{32 if ip.version == 4 else 64}", strict=False)


def usernames_failed_from(request: HttpRequest) -> int:
    """Usernames whose login failed from ``request``'s address (or IPv6 /64)
    within the lockout's cool-off. Usernames, not failures: one operator
    retrying a forgotten password counts once, however often she retries."""
    network = _network_of(client_ip(request))
    if network is None:
        return 0
    since = timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    attempts = AccessAttempt.objects.filter(
        attempt_time__gte=since, failures_since_start__gt=0
    )
    if network.version == 4:
        return (
            attempts.filter(ip_address=str(network.network_address))
            .values("username")
            .distinct()
            .count()
        )
    return len(
        {
            username
            for address, username in attempts.filter(
                ip_address__contains=":"
            ).values_list("ip_address", "username")
            if ip_address(address) in network
        }
    )


class AddressLimitMixin:
    """Refuses a login from an address where too many usernames failed, before
    the password is checked: one password tried on many usernames (spraying)
    never reaches the lockout of one username."""

    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        if (
            self.request is not None
            and usernames_failed_from(self.request)
            >= settings.LOGIN_FAILED_USERNAMES_PER_ADDRESS
        ):
            raise ValidationError(
                _(
                    "この接続元からのログインの失敗が多いため、しばらくログインできません。"
                    "時間をおいてからお試しください。"
                ),
                code="address_limited",
            )
        return super().clean()  # type: ignore[misc]


class UsernameLengthMixin:
    """Refuses a username longer than any user's as a wrong login, before the
    password is checked. Django's form reads one of any length and hands it to
    authenticate(); django-axes then records the failure in a 255-character
    column, which PostgreSQL refused: a server error instead of the login page."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if len(username) > self.fields["username"].max_length:  # type: ignore[attr-defined]
            raise self.get_invalid_login_error()  # type: ignore[attr-defined]
        return super().clean()  # type: ignore[misc]


class LoginForm(AddressLimitMixin, UsernameLengthMixin, auth_forms.AuthenticationForm):
    pass


class AdminLoginForm(AddressLimitMixin, UsernameLengthMixin, AdminAuthenticationForm):
    pass


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, checking the old password as the login page does: through
    django-axes, so wrong ones count towards the lockout of that username and
    address. Else a session left open on a shared PC could guess its user's
    password without limit here, then change it."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any):
        super().__init__(user, *args, **kwargs)
        self.request = request

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        # Locked out, authenticate() answers None and flags the request: the
        # lockout page is shown instead of this form (axes.middleware).
        checked = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if checked is None or checked.pk != self.user.pk:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form asking for the address to mail a reset link to (the
    mail is sent only to active users with that address and a password, and
    the page that follows is the same either way). The address is read as
    typed on a Japanese keyboard; too many requests for one address or from
    one client address are refused, so that nobody floods a mailbox."""

    email = TypedEmailField(
        label=_("ご登録のメールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.collected_mails: list[tuple[Any, str, str]] = []

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        network = _network_of(client_ip(self.request))
        if not password_reset.take_reset_request(
            email=email, network=str(network) if network else None
        ):
            raise ValidationError(
                _(
                    "パスワード再設定のお申し込みが続いたため、しばらく受け付けられません。"
                    "%(wait)sほどたってから、もう一度お試しください。お急ぎの場合は、"
                    "%(company)s（%(phone)s）までお電話ください。"
                ),
                code="rate_limited",
                params={
                    "wait": password_reset.reset_limit_wait(),
                    "company": settings.COMPANY_NAME,
                    "phone": settings.COMPANY_PHONE,
                },
            )
        return email

    def get_users(self, email: str) -> Iterator[User]:
        """Django's rules (active users with a usable password; each one found
        gets its own mail, save() sends one per user), with the stored
        address read as this field reads a typed one, in any case: an address
        saved full-width, with spaces or in capitals before the forms read it
        so is still found by the half-width one typed now.

        Only addresses stored as typed (printable ASCII) are compared by the
        database; the others, left by older pages, are read here."""
        wanted = normalize_typed_email(email).casefold()
        candidates = User._default_manager.filter(
            models.Q(email__iexact=wanted) | models.Q(email__regex=r"[^!-~]"),
            is_active=True,
        ).order_by("pk")
        return (
            user
            for user in candidates
            if user.has_usable_password()
            and normalize_typed_email(user.email).casefold() == wanted
        )

    def send_mail(  # type: ignore[override]
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        # Django's save() calls this for each user with the address: the mail
        # is kept for send_collected_mails, which the view runs once the page
        # has been sent.
        base_url = f"{context['protocol']}://{context['domain']}"
        self.collected_mails.append(
            (
                context["user"],
                settings.PORTAL_BASE_URL or base_url,
                # The user's address, half-width as the mail server reads it.
                normalize_typed_email(to_email),
            )
        )

    def send_collected_mails(self) -> None:
        """The mail of clients.password_reset, shared with the admins' login
        invitation. A failure is logged, not shown: the page that follows must
        not differ between addresses that are users' and others."""
        mails, self.collected_mails = self.collected_mails, []
        for user, base_url, to in mails:
            try:
                password_reset.send_login_link(user=user, base_url=base_url, to=to)
            except password_reset.LoginLinkError:
                logger.exception("Password reset mail to user %s not sent", user.pk)
