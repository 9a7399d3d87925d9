import datetime as dt

from django.db import models
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from answering.models import Call
from clients.models import Client, ReportRecipient
from reporting import failures


def destination_key(address: str) -> str:
    """What makes two deliveries go to one destination: the address, whatever
    the channel and the case. An address re-typed in another case
    (Taro@Example.jp, now taro@example.jp), or moved from the PC field to the
    mobile one, is the same mailbox. (A Chatwork room is digits, an e-mail
    address has an @: the two never meet.) The same rule in a query is
    DeliveryQuerySet.to_destination()."""
    return address.lower()


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: dt.datetime | None = None) -> "DeliveryQuerySet":
        """Deliveries a relay should try now.

        Pending ones whose time has come, and ones left "sending" by a worker whose
        lease ran out (it died, or hangs): those are resent and flagged.
        """
        now = now or timezone.now()
        return self.filter(
            Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
        ).in_turn()

    def to_destination(self, address: str | OuterRef) -> "DeliveryQuerySet":
        """Deliveries to the destination of ``address``: destination_key's rule,
        LOWER() of both. (``iexact`` is a LIKE on SQLite, which folds ASCII
        letters only; LOWER() there is Python's, reporting.apps.)"""
        typed = address if isinstance(address, OuterRef) else Value(address)
        return self.filter(Exact(Lower("address"), Lower(typed)))

    def in_turn(self) -> "DeliveryQuerySet":
        """Leave out corrections whose destination still waits for an earlier
        message of the same call (its report in backoff, an earlier correction):
        a client must never read a 訂正 before the report it corrects.

        The subquery stays on delivery_call_status (call_id, status): the few
        rows of one call are then compared.
        """
        earlier_unsent = Delivery.objects.filter(
            call_id=OuterRef("call_id"),
            id__lt=OuterRef("id"),
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).to_destination(OuterRef("address"))
        return self.exclude(Q(kind=Delivery.Kind.CORRECTION) & Exists(earlier_unsent))

    def failed(self) -> "DeliveryQuerySet":
        """Deliveries that gave up, waiting for an admin to resend them or to
        have the recipient corrected (the failed-deliveries page)."""
        return self.filter(status=Delivery.Status.FAILED)

    def emails(self) -> "DeliveryQuerySet":
        return self.filter(
            channel__in=[Delivery.Channel.EMAIL_PC, Delivery.Channel.EMAIL_MOBILE]
        )


class Delivery(models.Model):
    """One report of one call to one destination (an address or a Chatwork room).

    The text is rendered when the delivery is queued, in the transaction that
    saved the call, so what is sent is what the operator logged at that moment.
    """

    class Kind(models.TextChoices):
        REPORT = "report", _("報告")
        CORRECTION = "correction", _("訂正")

    class Channel(models.TextChoices):
        EMAIL_PC = "email_pc", _("メール（PC）")
        EMAIL_MOBILE = "email_mobile", _("メール（携帯）")
        CHATWORK = "chatwork", _("チャットワーク")

    class Status(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")

    # The call and the client need no index of their own: delivery_call_status
    # and delivery_client_addr (Meta) start with them, and each index costs every
    # save of a call.
    call = models.ForeignKey(
        Call,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("受電"),
        db_index=False,
    )
    # Denormalised from the call so per-client views (bounces) need no join.
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="report_deliveries",
        verbose_name=_("顧客"),
        db_index=False,
    )
    recipient = models.ForeignKey(
        ReportRecipient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("報告先"),
    )
    kind = models.CharField(
        _("種類"), max_length=20, choices=Kind.choices, default=Kind.REPORT
    )
    channel = models.CharField(_("送信方法"), max_length=20, choices=Channel.choices)
    address = models.CharField(
        _("送信先"), max_length=254, help_text=_("メールアドレスまたはルームID")
    )
    subject = models.CharField(_("件名"), max_length=255, blank=True)
    body = models.TextField(_("本文"))
    status = models.CharField(
        _("状態"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回送信予定"), default=timezone.now)
    lease_expires_at = models.DateTimeField(_("送信中の期限"), null=True, blank=True)
    message_id = models.CharField(
        _("Message-ID"),
        max_length=255,
        blank=True,
        help_text=_("メールのMessage-ID（送信前に決めて保存します）"),
    )
    provider_message_id = models.CharField(
        _("送信先での受付ID"), max_length=255, blank=True
    )
    last_error = models.TextField(_("最後のエラー"), blank=True)
    bounced = models.BooleanField(
        _("不達（恒久的なエラー）"),
        default=False,
        help_text=_("メールサーバーが宛先を恒久的に拒否しました（5xx）。"),
    )
    possible_duplicate = models.BooleanField(
        _("重複送信の可能性"),
        default=False,
        help_text=_(
            "届いたか分からない送信（送信後に応答がない、接続が切れた、処理が"
            "止まった）がありました。お客様に2通届いた可能性があります。"
        ),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    failed_at = models.DateTimeField(_("失敗日時"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("報告の送信")
        verbose_name_plural = _("報告の送信")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["call", "status"], name="delivery_call_status"),
            models.Index(
                fields=["client", "address", "status"], name="delivery_client_addr"
            ),
            # The admin's list: newest first (Meta.ordering), a month's
            # drill-down, and its first and last dates; without it each read
            # and sorted every delivery (3 per call).
            models.Index(fields=["-created_at", "id"], name="delivery_created"),
        ]
        constraints = [
            # Queuing the first report of a call twice must not double it.
            models.UniqueConstraint(
                fields=["call", "channel", "address"],
                condition=Q(kind="report"),
                name="delivery_one_report_per_destination",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_expires_at__isnull=False),
                name="delivery_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        # The call as a person names it (Japan time and caller), not its id.
        return f"{self.get_kind_display()} {self.call} → {self.address}"

    @property
    def is_email(self) -> bool:
        return self.channel != self.Channel.CHATWORK

    @property
    def failure_reason(self) -> failures.FailureReason:
        """Why its last attempt failed, and what an admin does next."""
        return failures.explain(
            last_error=self.last_error, bounced=self.bounced, address=self.address
        )

    @property
    def carrier_hint(self) -> str:
        """For the client, when a carrier's server refused this address."""
        return failures.carrier_hint(self.address) if self.bounced else ""


class RateLimitBucket(models.Model):
    """One row per limited key, locked while its recent hits are counted."""

    key = models.CharField(_("キー"), max_length=100, primary_key=True)

    class Meta:
        verbose_name = _("送信制限")
        verbose_name_plural = _("送信制限")

    def __str__(self) -> str:
        return self.key


class RateLimitHit(models.Model):
    """One request counted against a key (a Chatwork room or the API token)."""

    key = models.CharField(_("キー"), max_length=100)
    at = models.DateTimeField(_("日時"))

    class Meta:
        ordering = ["key", "at"]
        verbose_name = _("送信記録")
        verbose_name_plural = _("送信記録")
        indexes = [models.Index(fields=["key", "at"], name="ratelimit_key_at")]

    def __str__(self) -> str:
        return f"{self.key} {self.at:%H:%M:%S}"
