from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("calls/", views.call_list, name="calls"),
    path("calls/export.csv", views.call_export, name="calls_csv"),
    path("calls/<int:call_id>/", views.call_detail, name="call"),
    path("recipients/", views.recipients, name="recipients"),
    path("plan/", views.plan, name="plan"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/billing-email/", views.billing_email, name="billing_email"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/calls/", views.invoice_calls, name="invoice_calls"),
    path(
        "invoices/<int:invoice_id>/calls.csv",
        views.invoice_calls_csv,
        name="invoice_calls_csv",
    ),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:notice_id>/end/", views.notice_end, name="notice_end"),
    path("password/", views.password_change, name="password_change"),
    path("password/done/", views.password_change_done, name="password_change_done"),
    path("requests/", views.request_list, name="requests"),
    path(
        "requests/plan/<int:request_id>/",
        views.plan_request_detail,
        name="plan_request",
    ),
    path(
        "requests/recipients/<int:request_id>/",
        views.recipient_request_detail,
        name="recipient_request",
    ),
    path("cancellation/", views.cancellation, name="cancellation"),
    path(
        "requests/cancellation/<int:request_id>/",
        views.cancellation_request_detail,
        name="cancellation_request",
    ),
    path(
        "requests/billing-email/<int:request_id>/",
        views.billing_email_request_detail,
        name="billing_email_request",
    ),
]
