from django.urls import path

from bench.console.views import bare_insert
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/insert", bare_insert, name="bench_insert"),
    *product_urlpatterns,
]
