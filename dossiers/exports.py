"""What every export (CSV, XLSX) writes in a cell: a value that a spreadsheet will show, never run.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice or Google Sheets (OWASP "CSV injection"): a company name such as
`=HYPERLINK("https://evil.example", "Cliquez")` would become a live link in the agent's sheet.
Such a cell gets a leading apostrophe, the spreadsheets' own mark for "text, not a formula".
"""

from datetime import date
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN = (bool, int, float, Decimal, date)


def safe_cell(value):
    """The value for one exported cell: numbers and dates as they are; anything else as text
    (a company, an agent...), quoted when it could start a formula."""
    if value is None or isinstance(value, PLAIN):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
