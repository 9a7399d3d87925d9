"""The site's Japanese display formats, over Django's ja locale
(FORMAT_MODULE_PATH): a date and time reads 2026年11月28日 01:34, with a space
and a two-digit hour, as the console, the portal and the reports write it;
Django's own reads 2026年11月28日1:34. Formats not set here are Django's."""

DATETIME_FORMAT = "Y年n月j日 H:i"
SHORT_DATETIME_FORMAT = "Y/m/d H:i"
TIME_FORMAT = "H:i"
