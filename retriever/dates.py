"""Date words in a question, turned into publication-date filters.

`apply_date_words(question, filters, today)` understands

- a year, month or day after a preposition: "in 2005", "during March 2005", "on 3 March 2005";
  a month with a year needs no preposition ("March 2005 results");
- open ranges: "since 2004", "after June 2004", "before 2005", "until May 2005";
- closed ranges: "between 2003 and 2005", "from March to June 2005", "between late March
  and mid-April 1987" (early, mid and late stand for the whole month, as after "in");
- relative dates, counted back from `today` (the archive's latest date): "yesterday", "today",
  "this week", "last week" (the previous Monday-Sunday week), "this/last month",
  "this/last year", "in March" / "last March" (the most recent March before the current
  month; "in March" includes the current month), "in the last 3 weeks", "over the past
  month", "in the 1990s".

A bare number is never a year: "2005 jobs" is not a date, "in 2005" is; years run 1900-2100.
Several expressions narrow each other ("since 2004 ... before June 2005"). Dates the caller
set explicitly win: if `filters` already has a date, the question's date words change nothing.

It also reports whether the question asks for the newest news ("latest", "most recent",
"newest", "recent(ly)", "lately", "this week", "today"), for the searcher's recency boost.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from newsdesk.core.types import Filters

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DAY_TOKEN = re.compile(r"\d{1,2}(?:st|nd|rd|th)?")
_FULL_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
)
_ANY_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?<![\d£$€.,])(?<!\d-)(?:19\d\d|20\d\d|2100)(?![\d%]|[.,-]\d|\w)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "few": 3, "couple of": 2, "several": 4,
}  # fmt: skip
# A calendar period: a day, a month of a year, a year, or an ISO date.
_PERIOD = (
    rf"(?:(?<!\d)\d{{4}}-\d\d-\d\d(?!\d)|{_DAY}\s+{_ANY_MONTH},?\s+{_YEAR}"
    rf"|{_ANY_MONTH}\s+{_DAY},?\s+{_YEAR}|{_ANY_MONTH}\s+(?:of\s+)?{_YEAR}|{_YEAR})"
)
_MONTH_ONLY = rf"(?:{_FULL_MONTH}|{_ANY_MONTH}(?=\s+{_YEAR}))"
# "late March", "mid-April": the whole month. Reports trail events (mid-March car sales are
# reported on March 24), so a finer reading (days 21-31, 11-20) loses the reports asked for.
_PART = r"(?:early\s+|late\s+|mid-?\s*)?"
_N_WORDS = (
    r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few"
    r"|couple of|several)"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "range",
        re.compile(
            rf"\b(?:between|from)\s+{_PART}(?P<a>{_PERIOD}|{_MONTH_ONLY})\s+(?:and|to"
            rf"|until|till|through|-)\s+{_PART}(?P<b>{_PERIOD})",
            re.I,
        ),
    ),
    (
        "last_n",
        re.compile(
            rf"\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+(?:last|past|previous)\s+"
            rf"(?:(?P<n>{_N_WORDS})\s+)?|(?:last|past|previous)\s+(?P<n2>{_N_WORDS})\s+|past\s+)(?P<unit>days?|weeks?|months?|years?)\b",
            re.I,
        ),
    ),
    ("decade", re.compile(r"\b(?:in|during|of)\s+the\s+(?P<decade>19\d0|20\d0)s\b", re.I)),
    (
        "open",
        re.compile(
            rf"\b(?P<prep>since|after|before|until|till|through|prior to|from)\s+(?P<p>{_PERIOD})",
            re.I,
        ),
    ),
    (
        "in",
        re.compile(
            rf"\b(?:in|during|throughout|on)\s+{_PART}(?P<p>{_PERIOD})",
            re.I,
        ),
    ),
    ("month_year", re.compile(rf"\b(?P<p>{_ANY_MONTH}\s+(?:of\s+)?{_YEAR})", re.I)),
    (
        "relative",
        re.compile(
            r"\b(?P<rel>yesterday|today|tonight|this week|last week|this month|last month"
            r"|this year|last year|earlier this year|earlier this month)\b",
            re.I,
        ),
    ),
    (
        "named_month",
        re.compile(rf"\b(?P<which>in|last|this|during)\s+(?P<m>{_FULL_MONTH})\b(?!\s+\d)", re.I),
    ),
]
_RECENCY = re.compile(
    r"\b(?:latest|most recent|newest|recent|recently|lately|this week|today|so far)\b", re.I
)


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    kind: str
    match: re.Match[str]


def _scan(text: str) -> list[_Found]:
    """Date expressions in `text`, leftmost first, never overlapping."""
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            if any(start < e and s < m.end() for s, e in taken):
                continue
            taken.append((start, m.end()))
            found.append(_Found(start, m.end(), kind, m))
    return sorted(found, key=lambda f: f.start)


def date_phrases(text: str) -> list[str]:
    """The date expressions in `text`, as written ("in March 2005", "last year")."""
    return [text[f.start : f.end] for f in _scan(text)]


def wants_recent(question: str) -> bool:
    return bool(_RECENCY.search(question))


def apply_date_words(question: str, filters: Filters, today: date) -> tuple[Filters, bool]:
    """`filters` with the question's date words applied, and whether it asks for the latest."""
    recency = wants_recent(question)
    if filters.has_date:
        return filters, recency
    since: date | None = None
    until: date | None = None
    for f in _scan(question):
        span = _resolve(f, today)
        if span is None:
            continue
        lo, hi = span
        new_since = max(since, lo) if since and lo else since or lo
        new_until = min(until, hi) if until and hi else until or hi
        if new_since and new_until and new_since > new_until:
            continue  # contradicts what came before; keep the earlier reading
        since, until = new_since, new_until
    if since is None and until is None:
        return filters, recency
    return replace(filters, since=since, until=until), recency


REPORTING_LAG_DAYS = 31  # the longest a period's news is looked for after the period ends


_PERIOD_KINDS = frozenset(("in", "month_year", "named_month"))


def reported_within(question: str, filters: Filters) -> Filters:
    """The publication dates to look in for news of the period the question names ("in
    March 1987", "TWA's March 1987 load factor"), read into `filters`: the period and, after
    it, half its length again (a day at least, a month at most). News of a period is
    reported during it and after it: a month's figures in the days after the month ("Pan
    Am's March load factor" on April 3), a year's results in the weeks after the year. A
    range the question bounds itself ("between March and mid-April", "since 2004", "before
    2005") is left as it is."""
    found = _scan(question)
    if filters.since is None or filters.until is None or not found:
        return filters
    if any(f.kind not in _PERIOD_KINDS for f in found):
        return filters
    length = (filters.until - filters.since).days + 1
    lag = min(REPORTING_LAG_DAYS, max(1, length // 2))
    return replace(filters, until=filters.until + timedelta(days=lag))


def describe(filters: Filters) -> str:
    """A human-readable summary, e.g. "published 2005-03-01 to 2005-03-31; sources: bbc"."""
    parts: list[str] = []
    if filters.since and filters.until:
        if filters.since == filters.until:
            parts.append(f"published on {filters.since.isoformat()}")
        else:
            parts.append(f"published {filters.since.isoformat()} to {filters.until.isoformat()}")
    elif filters.since:
        parts.append(f"published since {filters.since.isoformat()}")
    elif filters.until:
        parts.append(f"published until {filters.until.isoformat()}")
    if filters.sources:
        parts.append("sources: " + ", ".join(filters.sources))
    if filters.categories:
        parts.append("categories: " + ", ".join(filters.categories))
    return "; ".join(parts) if parts else "all articles"


# ---------------------------------------------------------------- resolution


def _resolve(f: _Found, today: date) -> tuple[date | None, date | None] | None:
    m = f.match
    if f.kind == "range":
        a = _period(m.group("a"), today, year_hint=m.group("b"))
        b = _period(m.group("b"), today)
        return (a[0], b[1]) if a and b else None
    if f.kind == "last_n":
        return _last_n(m.group("n") or m.group("n2"), m.group("unit"), today)
    if f.kind == "decade":
        start = int(m.group("decade"))
        return date(start, 1, 1), date(start + 9, 12, 31)
    if f.kind == "open":
        p = _period(m.group("p"), today)
        if p is None:
            return None
        prep = m.group("prep").lower()
        if prep in {"since", "from"}:
            return p[0], None
        if prep == "after":
            return p[1] + timedelta(days=1), None
        if prep in {"before", "prior to"}:
            return None, p[0] - timedelta(days=1)
        return None, p[1]  # until, till, through
    if f.kind in {"in", "month_year"}:
        return _period(m.group("p"), today)
    if f.kind == "relative":
        return _relative(m.group("rel").lower(), today)
    if f.kind == "named_month":
        if m.group("m") == "may":
            return None  # the verb, not the month
        return _named_month(m.group("which").lower(), _MONTHS[m.group("m").lower()], today)
    return None


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _period(text: str, today: date, year_hint: str = "") -> tuple[date, date] | None:
    """The first and last day of a calendar period written as `text`."""
    text = text.strip().lower().replace(",", " ").replace(".", " ")
    iso = re.fullmatch(r"(\d{4})-(\d\d)(?:-(\d\d))?", text)
    try:
        if iso:
            year, month = int(iso.group(1)), int(iso.group(2))
            if iso.group(3):
                day = date(year, month, int(iso.group(3)))
                return day, day
            return _month_span(year, month)
        tokens = text.split()
        years = [int(t) for t in tokens if re.fullmatch(r"\d{4}", t)]
        months = [_MONTHS[t] for t in tokens if t in _MONTHS]
        days = [int(re.sub(r"\D", "", t)) for t in tokens if _DAY_TOKEN.fullmatch(t)]
        if not years and months and year_hint:
            years = [int(y) for y in re.findall(r"\d{4}", year_hint)][:1]
        if not years:
            if months:
                return _named_month("in", months[0], today)
            return None
        year = years[0]
        if not 1900 <= year <= 2100:
            return None
        if months and days:
            day = date(year, months[0], days[0])
            return day, day
        if months:
            return _month_span(year, months[0])
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:  # 31 February and the like: not a date
        return None


def _last_n(n_text: str | None, unit: str, today: date) -> tuple[date, date]:
    n = 1
    if n_text:
        key = n_text.lower()
        n = int(key) if key.isdigit() else _NUMBER_WORDS.get(key, 1)
    unit = unit.lower().rstrip("s")
    if unit == "day":
        since = today - timedelta(days=n)
    elif unit == "week":
        since = today - timedelta(weeks=n)
    elif unit == "month":
        since = _months_back(today, n)
    else:
        since = _months_back(today, 12 * n)
    return since, today


def _months_back(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 - n
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _relative(rel: str, today: date) -> tuple[date, date]:
    if rel in {"today", "tonight"}:
        return today, today
    if rel == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if rel == "this week":
        return today - timedelta(days=6), today
    if rel == "last week":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if rel in {"this month", "earlier this month"}:
        return today.replace(day=1), today
    if rel == "last month":
        first = today.replace(day=1) - timedelta(days=1)
        return _month_span(first.year, first.month)
    if rel in {"this year", "earlier this year"}:
        return date(today.year, 1, 1), today
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)  # last year


def _named_month(which: str, month: int, today: date) -> tuple[date, date]:
    """A month named without a year: the most recent one ("in"/"during"/"this" may be the
    current month; "last" is strictly before it)."""
    year = today.year
    if month > today.month or (which == "last" and month == today.month):
        year -= 1
    start, end = _month_span(year, month)
    return start, min(end, today) if year == today.year and month == today.month else end
