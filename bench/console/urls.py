from django.urls import path

from bench.console.views import bare_insert, logged_in_noop
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/insert", bare_insert, name="bench_insert"),
    path("bench/noop", logged_in_noop, name="bench_noop"),
    *product_urlpatterns,
]
