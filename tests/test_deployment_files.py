"""The files a newcomer or an operator follows (README.md, .env.example,
docker-compose.yml, the Dockerfile) say what the code does: every variable the
code reads is documented and every one documented is read, every command the
stack runs exists, every scheduled job is a task and a command, and the
README's demo logins, benchmarks and layout match the code.

No Docker engine is needed: the files are read as text (the compose file is
plain enough to read without a YAML library, which is not installed)."""

import json
import os
import re
import shlex
import subprocess
import sys
from email.utils import parseaddr
from importlib import import_module
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.management import get_commands
from django.utils.module_loading import import_string

from portal.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()

LOCAL_APPS = [
    app for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
]
APP_DIRS = sorted({app.split(".")[0] for app in LOCAL_APPS})
# Where the product's code is (not the tests' nor the benchmarks' own knobs).
SOURCE_FILES = [
    path
    for folder in APP_DIRS
    for path in (ROOT / folder).rglob("*.py")
    if "migrations" not in path.parts
]
ENV_READ = re.compile(
    r"""\benv(?:\.\w+)?\(\s*"(?P<a>[A-Z][A-Z0-9_]+)"    # env("X"), env.int("X")
    |os\.environ(?:\.get\(|\[)\s*"(?P<b>[A-Z][A-Z0-9_]+)"  # os.environ.get("X")
    |"(?P<c>[A-Z][A-Z0-9_]+)"\s+(?:not\s+)?in\s+os\.environ  # "X" in os.environ
    |getenv\(\s*"(?P<d>[A-Z][A-Z0-9_]+)"
    """,
    re.VERBOSE,
)
# Read with no default (django-environ raises when it is unset).
ENV_REQUIRED = re.compile(r"""\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"\s*\)""")


def _variables_read_by_the_code() -> set[str]:
    names = set()
    for path in SOURCE_FILES:
        for match in ENV_READ.finditer(path.read_text()):
            names.add(next(name for name in match.groups() if name))
    return names


def _readme_section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading
    of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, re.MULTILINE)
    assert match, f"README has no section {title!r}"
    level = len(match.group(1))
    rest = README[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every row of the Markdown tables in ``text``, header and
    separator left out."""
    rows = []
    for block in re.findall(r"(?:^\|.*\|\n)+", text, re.MULTILINE):
        lines = block.strip("\n").split("\n")[2:]
        rows += [
            [cell.strip() for cell in line.strip("|").split("|")] for line in lines
        ]
    return rows


def _readme_variables() -> set[str]:
    rows = _table_rows(_readme_section("Embedded default and production"))
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0])}


def _env_example_variables() -> dict[str, str | None]:
    """Each variable of .env.example and its value (None when only given as a
    comment: ``# NAME=default``)."""
    found: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.splitlines():
        match = re.match(r"(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            value = match.group(3)
            # Quotes around a value are not part of it (docker compose and
            # django-environ's read_env drop them).
            if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            found[match.group(2)] = None if match.group(1) else value
    return found


def test_every_variable_the_code_reads_is_documented_in_the_readme():
    read = _variables_read_by_the_code()
    documented = _readme_variables()
    assert read - documented == set(), "read by the code, missing in README"
    assert documented - read == set(), "in README, no longer read by the code"


def test_every_variable_the_code_reads_is_in_the_env_example():
    read = _variables_read_by_the_code()
    example = set(_env_example_variables())
    assert read - example == set(), "read by the code, missing in .env.example"
    assert example - read == set(), "in .env.example, no longer read by the code"


def test_the_env_example_copied_as_it_is_starts_a_production_configuration():
    """`cp .env.example .env` gives a server configuration Django accepts: debug
    off, a key, host names, e-mail by SMTP, a portal link, a broker."""
    values = {k: v for k, v in _env_example_variables().items() if v is not None}
    for name in {
        m for path in SOURCE_FILES for m in ENV_REQUIRED.findall(path.read_text())
    }:
        assert values.get(name), f"{name} has no default and no value in .env.example"
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.ALLOWED_HOSTS, s.EMAIL_BACKEND, "
        "s.PORTAL_BASE_URL, s.CELERY_BROKER_URL, s.DATABASES['default']['ENGINE'], "
        "s.DEFAULT_FROM_EMAIL]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **values,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-800:]
    debug, hosts, backend, portal, broker, engine, sender = json.loads(done.stdout)
    assert debug is False
    assert hosts and "localhost" not in hosts
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert portal.startswith("https://")
    assert broker.startswith("redis://")
    assert engine == "django.db.backends.postgresql"
    # Mail comes from the company's name, not a bare address.
    assert parseaddr(sender) == (values["COMPANY_NAME"], "report@example.jp")


def _compose_blocks() -> dict[str, str]:
    """Each top-level anchor block (``x-app``) and each service of
    docker-compose.yml, as its text."""
    blocks: dict[str, list[str]] = {}
    current = None
    in_services = False
    for line in COMPOSE.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            key = line.split(":")[0]
            in_services = key == "services"
            current = key if key.startswith("x-") else None
        elif in_services and re.match(r"^  [a-z][\w-]*:\s*$", line):
            current = line.strip().rstrip(":")
        if current:
            blocks.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


BLOCKS = _compose_blocks()
APP_SERVICES = [name for name, text in BLOCKS.items() if "<<: *app" in text]


def _assert_command_exists(argv: list[str]) -> None:
    """``argv`` runs something this code base has."""
    program = argv[0]
    if program == "python":
        assert argv[1:2] == ["manage.py"], argv
        assert argv[2] in get_commands(), f"no management command {argv[2]}"
    elif program == "celery":
        app_at = argv.index("-A") + 1
        module = import_module(f"{argv[app_at]}.celery")
        assert isinstance(module.app, Celery)
        assert argv[app_at + 1] in ("worker", "beat"), argv
    elif program == "gunicorn":
        config = argv[argv.index("-c") + 1]
        assert (ROOT / config).is_file(), config
        module, attribute = argv[-1].split(":")
        assert hasattr(import_module(module), attribute), argv[-1]
    else:
        pytest.fail(f"unknown program {program!r} in {argv}")


def test_the_stack_has_the_app_services_on_one_shared_configuration():
    assert set(APP_SERVICES) >= {"migrate", "web", "worker", "beat", "relay"}
    assert re.search(r"^  env_file: \.env$", BLOCKS["x-app"], re.MULTILINE)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        assert re.search(rf"^    {name}: \S+", BLOCKS["x-app"], re.MULTILINE), name
    assert {"db", "redis"} <= BLOCKS.keys()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_compose_command_exists(service):
    match = re.search(r"^    command: (.+)$", BLOCKS[service], re.MULTILINE)
    assert match, f"{service} has no command"
    _assert_command_exists(shlex.split(match.group(1)))


def test_the_images_own_command_exists():
    match = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert match
    _assert_command_exists(json.loads(match.group(1)))


def test_migrations_run_once_before_the_others_and_static_files_are_collected():
    assert re.search(r"command: python manage.py migrate\b", BLOCKS["migrate"]), (
        "the migrate service migrates"
    )
    for service in APP_SERVICES:
        if service == "migrate":
            continue
        # A service that lists its own depends_on replaces the shared one.
        text = BLOCKS[service] if "depends_on:" in BLOCKS[service] else BLOCKS["x-app"]
        assert re.search(
            r"migrate:\n\s+condition: service_completed_successfully", text
        ), f"{service} does not wait for the migrations"
        assert "manage.py migrate" not in BLOCKS[service]
    assert re.search(
        r"^RUN .*python manage.py collectstatic --noinput", DOCKERFILE, re.MULTILINE
    )


def test_every_scheduled_job_is_a_task_and_a_command_in_the_readme():
    """STYLE.md: every scheduled job is also a management command, so a month
    can be replayed by hand; the README's table names each one."""
    for job in settings.CELERY_BEAT_SCHEDULE.values():
        task = import_string(job["task"])
        assert task.name == job["task"]
    rows = _table_rows(_readme_section("Scheduled jobs and commands"))
    assert len(rows) == len(settings.CELERY_BEAT_SCHEDULE)
    for row in rows:
        command = re.search(r"`python manage.py ([a-z_]+)", row[2])
        assert command, row
        assert command.group(1) in get_commands(), row


def test_the_readme_starts_with_the_two_commands():
    first = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:2] for line in first] == [["make", "run"], ["make", "test"]]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)


def test_the_readme_demo_logins_are_the_seeded_ones():
    rows = _table_rows(_readme_section("Demo logins (created by `make run`)"))
    assert [row[0].strip("`") for row in rows] == [name for name, *_ in DEMO_LOGINS]
    assert {row[1].strip("`") for row in rows} == {DEMO_PASSWORD}


def test_the_readme_benchmarks_name_scripts_and_options_that_exist():
    rows = _table_rows(_readme_section("Benchmarks"))
    assert rows
    for script, _what, command in rows:
        path = ROOT / script.strip("`")
        assert path.is_file(), script
        assert script.strip("`") in command
        source = path.read_text()
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command):
            assert f'"{option}"' in source, f"{script} has no {option}"


def test_the_readme_layout_lists_the_apps():
    rows = _table_rows(_readme_section("Layout"))
    listed = {row[0].strip("`/") for row in rows}
    assert set(APP_DIRS) <= listed
    for folder in listed:
        assert (ROOT / folder).is_dir(), folder
