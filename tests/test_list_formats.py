"""The list's dates written without Babel's field by field lookup say exactly what Babel says,
in every language, at every hour (AM/PM included) and across the daylight saving changes."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from babel import Locale
from babel.dates import get_timezone, parse_pattern

from backoffice.columns import simple_fields

BRUSSELS = get_timezone("Europe/Brussels")


@pytest.mark.parametrize("language", ["fr", "de", "en", "nl", "fr_BE", "de_BE", "en_GB"])
def test_short_datetimes_are_babels(language):
    locale = Locale.parse(language)
    glue = locale.datetime_formats["short"]
    pattern = parse_pattern(
        glue.replace("{1}", locale.date_formats["short"].pattern).replace(
            "{0}", locale.time_formats["short"].pattern
        )
    )
    fields = simple_fields(pattern, locale)
    assert fields is not None, "a short pattern of numbers takes the fast way"
    rng = random.Random(7)
    for _ in range(2000):
        minutes = rng.randrange(0, 60 * 24 * 366 * 6)
        moment = (datetime(2024, 1, 1) + timedelta(minutes=minutes)).replace(tzinfo=UTC)
        moment = moment.astimezone(BRUSSELS)
        assert pattern.format % {n: f(moment) for n, f in fields} == pattern.apply(moment, locale)


def test_a_pattern_with_a_month_name_is_left_to_babel():
    assert simple_fields(parse_pattern("d MMM y HH:mm"), Locale.parse("fr")) is None
