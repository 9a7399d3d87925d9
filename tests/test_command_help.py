"""What an admin reads with ``manage.py <command> --help``: every option of the
project's own commands explained, and the settings they follow given with
their value, not only their name."""

import pytest
from django.core.management import get_commands, load_command_class

# Options every Django command has, explained by Django.
DJANGO_OPTIONS = {
    "help",
    "version",
    "verbosity",
    "settings",
    "pythonpath",
    "traceback",
    "no_color",
    "force_color",
    "skip_checks",
}
PROJECT_APPS = ("answering", "billing", "clients", "console", "portal", "reporting")


def _project_commands():
    return sorted(
        (app, name) for name, app in get_commands().items() if app in PROJECT_APPS
    )


def _help(app, name):
    parser = load_command_class(app, name).create_parser("manage.py", name)
    return parser, parser.format_help()


@pytest.mark.parametrize(("app", "name"), _project_commands())
def test_every_option_of_a_project_command_is_explained(app, name):
    parser, _text = _help(app, name)
    assert parser.description, name
    unexplained = [
        action.option_strings[0] if action.option_strings else action.dest
        for action in parser._actions
        if action.dest not in DJANGO_OPTIONS and not action.help
    ]
    assert unexplained == [], name


def test_help_gives_the_retention_period_and_the_notice_day_in_force(settings):
    settings.CALLER_DATA_RETENTION_MONTHS = 36
    settings.INVOICE_NOTICE_DAY = 12
    _parser, erase = _help("reporting", "erase_old_personal_data")
    assert "保存期間（36か月。" in erase.replace("\n", "")
    _parser, notices = _help("billing", "send_invoice_notices")
    assert "発行した月の12日" in notices.replace("\n", "")
