import datetime as dt


def ja_day(day: dt.date) -> str:
    """A date as the site writes it in Japanese: 2026年11月28日."""
    return f"{day.year}年{day.month}月{day.day}日"
