"""Reads an iCalendar file with Python's `icalendar` and prints what it found as JSON.

Used by the end-to-end test of calendar feeds (ical.rs) as an independent, widely used parser:
if it reads the feed without complaint and finds the same shifts as the API, calendar
applications will too. Exits non-zero when the parser reports any problem.

Usage: ical_check.py FILE
Prints: {"calendar": {...}, "events": [{"uid", "summary", "description", "dtstart", "dtend"}]}
with instants as UTC RFC 3339 (2026-03-29T01:00:00Z).
"""

import datetime
import json
import sys

import icalendar


def utc(value):
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise SystemExit(f"expected a date-time with a time zone, got {value!r}")
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    with open(sys.argv[1], "rb") as file:
        calendar = icalendar.Calendar.from_ical(file.read())
    problems = []
    for component in calendar.walk():
        problems.extend(f"{component.name}: {error}" for error in getattr(component, "errors", []))
    if problems:
        raise SystemExit("icalendar reported problems: " + "; ".join(map(str, problems)))
    events = [
        {
            "uid": str(event["UID"]),
            "summary": str(event["SUMMARY"]),
            "description": str(event["DESCRIPTION"]),
            "dtstart": utc(event.decoded("DTSTART")),
            "dtend": utc(event.decoded("DTEND")),
        }
        for event in calendar.walk("VEVENT")
    ]
    header = {
        key.lower(): str(calendar[key])
        for key in ("PRODID", "VERSION", "CALSCALE", "METHOD", "X-WR-CALNAME")
        if key in calendar
    }
    json.dump({"calendar": header, "events": events}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
