from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.month_page, name="month"),
    path("run/", views.run_month, name="run"),
    path("issue/", views.issue_month, name="issue"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/lines.csv", views.invoice_lines_csv, name="invoice_csv"),
    path("invoices/<int:pk>/calls.csv", views.invoice_calls_csv, name="invoice_calls"),
    path("invoices/<int:pk>/issue/", views.issue_draft, name="issue_draft"),
    path("invoices/<int:pk>/paid/", views.mark_paid, name="mark_paid"),
    path("invoices/<int:pk>/refunded/", views.mark_refunded, name="mark_refunded"),
    path("invoices/<int:pk>/unpaid/", views.undo_payment, name="undo_payment"),
    path("invoices/<int:pk>/void/", views.void_invoice, name="void"),
    path("invoices/<int:pk>/adjust/", views.add_adjustment, name="adjust"),
    path("clients/<int:pk>/usage/", views.client_usage, name="usage"),
]
