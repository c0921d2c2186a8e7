"""The two clocks: people read the config's zone with its abbreviation (which moves with DST),
machines read ISO 8601 UTC with `Z`; and times people type are read in the config's zone
unless they carry an offset."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from checks.times import for_people, iso_utc, later_for_people, parse_time, span_for_people

NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
WINTER = dt.datetime(2026, 2, 3, 23, 5, 42, tzinfo=dt.UTC)  # EST / GMT
SUMMER = dt.datetime(2026, 7, 3, 23, 5, 42, tzinfo=dt.UTC)  # EDT / BST


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (WINTER, NY, "2026-02-03 18:05 EST"),
        (SUMMER, NY, "2026-07-03 19:05 EDT"),
        (WINTER, LONDON, "2026-02-03 23:05 GMT"),
        (SUMMER, LONDON, "2026-07-04 00:05 BST"),  # the next local day
        (WINTER, dt.UTC, "2026-02-03 23:05 UTC"),
        (WINTER.replace(tzinfo=None), NY, "2026-02-03 18:05 EST"),  # naive: UTC
    ],
)
def test_people_read_the_zone_with_its_abbreviation(
    moment: dt.datetime, zone: dt.tzinfo, expected: str
) -> None:
    assert for_people(moment, zone) == expected


def test_the_styles_say_how_much_of_a_time_is_shown() -> None:
    assert for_people(WINTER, NY, "seconds") == "2026-02-03 18:05:42 EST"
    assert for_people(WINTER, NY, "short") == "02-03 18:05:42 EST"
    assert for_people(WINTER, NY, "short_minutes") == "02-03 18:05 EST"
    assert for_people(WINTER, NY, "clock") == "18:05:42 EST"
    assert for_people(WINTER, NY, "clock_minutes") == "18:05 EST"


def test_later_times_in_a_sentence_drop_the_date_only_on_the_same_local_day() -> None:
    anchor = dt.datetime(2026, 2, 3, 4, 12, 42, tzinfo=dt.UTC)  # 23:12:42 EST on 02-02
    assert later_for_people(anchor - dt.timedelta(hours=5), anchor, NY) == "18:12:42 EST"
    earlier_day = anchor - dt.timedelta(days=1)
    assert later_for_people(earlier_day, anchor, NY, seconds=False) == "02-01 23:12 EST"


def test_a_span_names_its_day_and_zone_once() -> None:
    start = dt.datetime(2026, 2, 3, 4, 12, 42, tzinfo=dt.UTC)
    assert span_for_people(start, start, NY) == "2026-02-02 23:12:42 EST"
    assert span_for_people(start, start + dt.timedelta(seconds=78), NY) == (
        "2026-02-02 23:12:42-23:14:00 EST"
    )
    assert span_for_people(start, start + dt.timedelta(hours=1), NY) == (
        "2026-02-02 23:12:42 EST - 2026-02-03 00:12:42 EST"
    )


def test_machines_read_iso_utc_with_z() -> None:
    assert iso_utc(WINTER.astimezone(NY)) == "2026-02-03T23:05:42Z"
    assert iso_utc(WINTER.replace(tzinfo=None)) == "2026-02-03T23:05:42Z"
    assert iso_utc(WINTER.replace(microsecond=500)) == "2026-02-03T23:05:42.000500Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-03 18:00", dt.datetime(2026, 2, 3, 23, 0, tzinfo=dt.UTC)),  # EST
        ("2026-07-03 18:00", dt.datetime(2026, 7, 3, 22, 0, tzinfo=dt.UTC)),  # EDT
        ("2026-02-03T18:00:30", dt.datetime(2026, 2, 3, 23, 0, 30, tzinfo=dt.UTC)),
        ("2026-02-03", dt.datetime(2026, 2, 3, 5, 0, tzinfo=dt.UTC)),  # midnight there
        ("2026-02-03T18:00Z", dt.datetime(2026, 2, 3, 18, 0, tzinfo=dt.UTC)),
        ("2026-02-03T18:00+01:00", dt.datetime(2026, 2, 3, 17, 0, tzinfo=dt.UTC)),
    ],
)
def test_typed_times_are_the_config_zone_unless_they_give_an_offset(
    text: str, expected: dt.datetime
) -> None:
    assert parse_time(text, NY) == expected


@pytest.mark.parametrize("text", ["tomorrow", "18:00", "2026-02-30 10:00", "2026-02-03 25:00"])
def test_a_time_that_is_not_one_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM-DD HH:MM \(in the config's timezone\)"):
        parse_time(text, NY)
