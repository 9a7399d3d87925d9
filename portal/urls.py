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
]
