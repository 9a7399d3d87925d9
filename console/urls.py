from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("search.json", views.search_json, name="search"),
    path("phone.json", views.phone_json, name="phone"),
    path("calls/new", views.call_new, name="call_new"),
    path("calls/<int:pk>/edit", views.call_edit, name="call_edit"),
]
