"""Consumption tax included in a tax-included total: the one rounding rule.

Rule (qualified invoices, 10% rate): the tax included in a tax-included total
is floor(total × 10 / 110), computed once per invoice per rate, never per line.
For a negative total (a credit larger than the charges) the same rule is
applied to the absolute amount, so a refund never shows more tax than it
carries: -floor(|total| × 10 / 110).
"""

STANDARD_RATE_PERCENT = 10


def tax_included_yen(
    total_yen: int, *, rate_percent: int = STANDARD_RATE_PERCENT
) -> int:
    """Consumption tax inside ``total_yen`` (integer yen, tax included)."""
    magnitude = abs(total_yen) * rate_percent // (100 + rate_percent)
    return magnitude if total_yen >= 0 else -magnitude
