"""Statistics per procedure and month, read from the kept rows (models.MonthlyStatistics and
MonthlyProcessingDays), never from the dossier table: the supervisors' page in the back-office
(a table and charts per procedure, its CSV) and the public page of processing times.

The processing time is counted in calendar days (Brussels) from the submission to the last
closing; its median and 90th percentile are read exactly from the histogram of days, by nearest
rank (the smallest number of days within which that share of the dossiers was closed).
`flask --app run statistics rebuild` computes the kept rows again from the dossiers.
"""

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

import click
from flask.cli import AppGroup
from flask_babel import format_date
from flask_babel import gettext as _

from languages import operator_command
from models import (
    MonthlyProcessingDays,
    MonthlyStatistics,
    ProcedureDefinition,
    month_of,
    utcnow,
)
from procedures import title_of

MONTHS = 12  # the months each page shows, the current one last


def percentile(histogram, fraction):
    """The smallest number of days within which `fraction` of the dossiers were closed
    (nearest rank), from {days: dossiers}; None when there are none."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for days in sorted(histogram):
        seen += histogram[days]
        if seen >= rank:
            return days
    return None


def last_months(count=MONTHS, now=None):
    """The first days of the last `count` months (Brussels), oldest first."""
    month = month_of(now or utcnow())
    months = []
    for _n in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months[::-1]


@dataclass
class Month:
    """One month of one procedure, as the tables and charts show it."""

    month: object
    submitted: int = 0
    closed: int = 0
    granted: int = 0
    refused: int = 0
    dismissed: int = 0
    late: int = 0
    days: dict = field(default_factory=dict)

    @cached_property
    def median(self):
        return percentile(self.days, 0.5)

    @cached_property
    def p90(self):
        return percentile(self.days, 0.9)


@dataclass
class ProcedureStatistics:
    code: str
    title: str
    months: list

    @property
    def closed(self):
        return sum(m.closed for m in self.months)

    @cached_property
    def histogram(self):
        """{days: dossiers} over all the months."""
        total = {}
        for m in self.months:
            for days, n in m.days.items():
                total[days] = total.get(days, 0) + n
        return total

    @property
    def median(self):
        return percentile(self.histogram, 0.5)

    @property
    def p90(self):
        return percentile(self.histogram, 0.9)


def procedure_titles():
    """{code: title in the current language} of the published procedures, from the latest
    published version of each."""
    latest = {}
    rows = (
        ProcedureDefinition.select()
        .where(ProcedureDefinition.published == True)  # noqa: E712
        .order_by(ProcedureDefinition.code, ProcedureDefinition.version)
    )
    for row in rows:
        latest[row.code] = row
    return {code: title_of(row) for code, row in latest.items()}


def by_procedure(months=None):
    """[ProcedureStatistics] for each published procedure (and each one with statistics),
    over `months` (default: the last MONTHS), by title."""
    months = months or last_months()
    first, last = months[0], months[-1]
    table = {}
    stats = MonthlyStatistics.select().where(
        MonthlyStatistics.month >= first, MonthlyStatistics.month <= last
    )
    for row in stats:
        entry = table.setdefault(row.procedure_code, {}).setdefault(row.month, Month(row.month))
        for name in MonthlyStatistics.COUNTS:
            setattr(entry, name, getattr(row, name))
    days = (
        MonthlyProcessingDays.select(
            MonthlyProcessingDays.procedure_code,
            MonthlyProcessingDays.month,
            MonthlyProcessingDays.days,
            MonthlyProcessingDays.n,
        )
        .where(
            MonthlyProcessingDays.month >= first,
            MonthlyProcessingDays.month <= last,
            MonthlyProcessingDays.n > 0,
        )
        .tuples()
    )
    for code, month, n_days, n in days:  # a few thousand rows at most: tuples, not models
        entry = table.setdefault(code, {}).setdefault(month, Month(month))
        entry.days[n_days] = n
    titles = procedure_titles()
    result = [
        ProcedureStatistics(
            code,
            titles.get(code, code),
            [table.get(code, {}).get(month) or Month(month) for month in months],
        )
        for code in set(titles) | set(table)
    ]
    return sorted(result, key=lambda p: (p.title.casefold(), p.code))


# --- the charts (server-rendered SVG) -----------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 8, 12, 44
# Bar colours of at least 3:1 against the white background (WCAG non-text contrast).
COLOURS = ("#1d5f8a", "#b04a00")


@dataclass
class Chart:
    """A grouped bar chart: what backoffice/_statistics_chart.html draws, with its title and
    a text alternative (the same data is in the table beside it)."""

    id: str
    title: str
    description: str
    legend: list  # (label, colour)
    bars: list  # (x, y, width, height, colour, label)
    ticks: list  # (y, label)
    months: list  # (x, (month, year or ""))
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    plot_left: int = PLOT_LEFT
    plot_bottom: int = CHART_HEIGHT - PLOT_BOTTOM


def tick_step(value):
    """A round whole step (1, 2, 2.5 or 5 times a power of ten, at least 1) for four ticks up
    to `value`."""
    wanted = max(1, value / 4)
    power = 10 ** math.floor(math.log10(wanted))
    steps = (1, 2, 2.5, 5) if power >= 10 else (1, 2, 5)
    return next((int(s * power) for s in steps if s * power >= wanted), 10 * power)


def month_labels(months):
    """{month: (axis label, long label)} in the current language, written once per page; the
    axis names the month, and the year under the first month and each January."""
    return {
        m: (
            (format_date(m, "LLL"), str(m.year) if i == 0 or m.month == 1 else ""),
            format_date(m, "MMMM y"),
        )
        for i, m in enumerate(months)
    }


def grouped_bars(chart_id, title, description, months, series, labels):
    """The chart of `series` ([(label, [value or None per month])]) over `months`."""
    step = tick_step(max([v or 0 for _label, values in series for v in values] or [0]))
    top = 4 * step
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = CHART_HEIGHT - PLOT_BOTTOM
    slot = plot_width / max(1, len(months))
    bar_width = slot * 0.8 / max(1, len(series))
    bars = []
    pattern = _("%(series)s, %(month)s : %(value)s")  # each bar's tooltip, translated once
    for s, (label, values) in enumerate(series):
        for i, value in enumerate(values):
            if not value:
                continue
            height = plot_height * value / top
            x = PLOT_LEFT + i * slot + slot * 0.1 + s * bar_width
            bars.append(
                (
                    round(x, 1),
                    round(bottom - height, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    COLOURS[s],
                    pattern % {"series": label, "month": labels[months[i]][1], "value": value},
                )
            )
    ticks = [(round(bottom - plot_height * k / 4, 1), str(step * k)) for k in range(5)]
    axis = [(round(PLOT_LEFT + (i + 0.5) * slot, 1), labels[m][0]) for i, m in enumerate(months)]
    legend = [(label, COLOURS[s]) for s, (label, _values) in enumerate(series)]
    return Chart(chart_id, title, description, legend, bars, ticks, axis)


def charts_of(procedure, labels=None):
    """The two charts of a procedure: dossiers submitted and closed, and processing times;
    `labels` as `month_labels` gives them."""
    months = [m.month for m in procedure.months]
    labels = labels or month_labels(months)
    submitted = sum(m.submitted for m in procedure.months)
    volumes = grouped_bars(
        f"volumes-{procedure.code}",
        _("Dossiers soumis et clôturés par mois — %(procedure)s", procedure=procedure.title),
        _(
            "Sur %(count)d mois : %(submitted)d dossiers soumis et %(closed)d clôturés. "
            "Le tableau qui suit donne les chiffres de chaque mois.",
            count=len(months),
            submitted=submitted,
            closed=procedure.closed,
        ),
        months,
        [
            (_("Soumis"), [m.submitted for m in procedure.months]),
            (_("Clôturés"), [m.closed for m in procedure.months]),
        ],
        labels,
    )
    median, p90 = procedure.median, procedure.p90
    if median is None:
        summary = _("Aucun dossier clôturé sur la période.")
    else:
        summary = _(
            "Sur la période, délai médian %(median)d jours, 90e centile %(p90)d jours.",
            median=median,
            p90=p90,
        )
    times = grouped_bars(
        f"times-{procedure.code}",
        _("Délai de traitement par mois, en jours — %(procedure)s", procedure=procedure.title),
        summary + " " + _("Le tableau qui suit donne les délais de chaque mois."),
        months,
        [
            (_("Médiane"), [m.median for m in procedure.months]),
            (_("90e centile"), [m.p90 for m in procedure.months]),
        ],
        labels,
    )
    return volumes, times


# --- the CSV of the supervisors' page -----------------------------------------------------

# Belgian Excel reads `;` as the list separator (a comma is its decimal mark).
CSV_DELIMITER = ";"


def csv_columns():
    return [
        _("Code"),
        _("Procédure"),
        _("Mois"),
        _("Soumis"),
        _("Clôturés"),
        _("Accordés"),
        _("Refusés"),
        _("Sans suite"),
        _("Clôturés en retard"),
        _("Délai médian (jours)"),
        _("Délai du 90e centile (jours)"),
    ]


def csv_bytes(procedures):
    """The table of every procedure and month, UTF-8 with a byte-order mark (so that Excel
    reads the accents right), `;`-separated."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITER)
    writer.writerow(csv_columns())
    for procedure in procedures:
        for m in procedure.months:
            median, p90 = m.median, m.p90
            writer.writerow(
                [
                    procedure.code,
                    procedure.title,
                    f"{m.month:%Y-%m}",
                    m.submitted,
                    m.closed,
                    m.granted,
                    m.refused,
                    m.dismissed,
                    m.late,
                    "" if median is None else median,
                    "" if p90 is None else p90,
                ]
            )
    return out.getvalue().encode("utf-8-sig")


# --- the command ----------------------------------------------------------------------------


def init_app(app):
    group = AppGroup("statistics", help="The kept statistics per procedure and month.")

    @group.command("rebuild")
    @operator_command
    def rebuild_command():
        """Compute the statistics again from the dossiers and replace the kept rows."""
        before = MonthlyStatistics.kept()
        months, days = MonthlyStatistics.rebuild()
        changed = sum(
            1
            for kept, counted in zip(before, (months, days), strict=True)
            for key in set(kept) | set(counted)
            if kept.get(key) != counted.get(key)
        )
        submitted = sum(c.get("submitted", 0) for c in months.values())
        closed = sum(c.get("closed", 0) for c in months.values())
        click.echo(
            f"{submitted} submitted and {closed} closed dossier(s) counted in {len(months)} "
            f"procedure month(s); {changed} row(s) corrected."
        )

    app.cli.add_command(group)
