from django.urls import path

from reporting import views

app_name = "reporting"

urlpatterns = [
    path("failed/", views.failed_deliveries, name="failed"),
    path(
        "deliveries/<int:delivery_id>/resend/",
        views.resend_delivery,
        name="resend",
    ),
    path("calls/<int:call_id>/", views.call_deliveries, name="call_deliveries"),
]
