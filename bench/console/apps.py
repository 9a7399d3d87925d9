from django.apps import AppConfig


class BenchConsoleConfig(AppConfig):
    name = "bench.console"
    label = "bench_console"
    default_auto_field = "django.db.models.BigAutoField"
