"""HTML of the People, Stories and Sources tabs: a name's page, a story's timeline, the
archive's sources and the status of a change to them.

Everything shown comes from the archive (names, titles, quotes, lead sentences) and is
escaped here, as in `ui.render`; nothing an article holds becomes markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from newsdesk.retriever.profiles import Name, Profile
from newsdesk.retriever.stories import Story, Timeline, TimelineEntry
from newsdesk.store.origins import Origin
from newsdesk.ui.render import esc, shorten

MAX_QUOTES = 20
MAX_ARTICLES = 30
MAX_PARTS = 40  # folders listed under a source
TYPE_WORDS = {"person": "Person", "org": "Organisation", "place": "Place"}
KIND_WORDS = {"folder": "Folder", "file": "File", "url": "Web", "upload": "Uploaded file"}


def name_choice(name: Name) -> tuple[str, str]:
    """(label, value) of a name in the picker: "Tony Blair (person, 147 articles)"."""
    return f"{name.name} ({name.type}, {name.articles:,} articles)", name.name


def story_choice(story: Story) -> tuple[str, str]:
    """(label, value) of a story in the picker: headline, dates, number of reports."""
    span = f"{story.first} to {story.last}" if story.first else "undated"
    n = len(story.articles)
    return f"{shorten(story.headline, 70)} ({span}, {n} report{'s' * (n != 1)})", story.story_id


def empty_html(message: str) -> str:
    return f'<div class="nd-empty">{esc(message)}</div>'


def _span(first: str, last: str) -> str:
    if not first:
        return "undated articles"
    return first[:10] if first[:10] == last[:10] else f"{first[:10]} to {last[:10]}"


def profile_html(profile: Profile) -> str:
    """A name's page: type and roles, counts and dates, quotes newest first (each with its
    article and date), articles per month, and the articles naming it."""
    n = profile.name
    kind = TYPE_WORDS.get(n.type, n.type)
    roles = ", ".join(esc(r) for r, _ in profile.roles[:5])
    parts = [
        f'<div class="nd-profile" data-name="{esc(n.name)}">',
        f'<h3 class="nd-profile-name">{esc(n.name)}</h3>',
        f'<div class="nd-profile-meta">{esc(kind)}'
        + (f' \u00b7 <span class="nd-roles">{roles}</span>' if roles else "")
        + f" \u00b7 named in {n.articles:,} articles ({n.mentions:,} mentions), "
        f"{esc(_span(n.first, n.last))}</div>",
    ]
    if profile.quotes:
        parts.append(f'<h4>Quotes ({len(profile.quotes):,})</h4><ol class="nd-quotes">')
        for hit in profile.quotes[:MAX_QUOTES]:
            when = f" \u00b7 {esc(hit.published[:10])}" if hit.published else ""
            parts.append(
                f'<li class="nd-said"><q>{esc(hit.quote.text.strip().rstrip(",;:"))}</q>'
                f'<div class="nd-quote-source">{esc(hit.doc_id)}{when}</div></li>'
            )
        parts.append("</ol>")
    if profile.by_month:
        peak = max(c for _, c in profile.by_month)
        parts.append('<h4>Articles over time</h4><table class="nd-months">')
        for month, count in profile.by_month:
            width = max(2, round(100 * count / peak))
            parts.append(
                f'<tr><td>{esc(month)}</td><td><span class="nd-bar" '
                f'style="width:{width}%"></span> {count}</td></tr>'
            )
        parts.append("</table>")
    parts.append(f'<h4>Articles ({len(profile.articles):,})</h4><ul class="nd-named">')
    for a in profile.articles[:MAX_ARTICLES]:
        when = esc(a.published[:10]) if a.published else "undated"
        parts.append(
            f'<li><span class="nd-date">{when}</span> {esc(shorten(a.title, 90))} '
            f'<span class="nd-doc">{esc(a.doc_id)}</span></li>'
        )
    parts.append("</ul></div>")
    return "".join(parts)


def _entry(entry: TimelineEntry, dated: bool) -> str:
    when = esc(entry.published) if dated else "undated"
    return (
        f'<li class="nd-tl-entry"><span class="nd-date">{when}</span> '
        f"{esc(' '.join(entry.text.split()))}"
        f'<div class="nd-quote-source">{esc(shorten(entry.title, 80))} \u00b7 '
        f"{esc(entry.doc_id)}</div></li>"
    )


def timeline_html(timeline: Timeline, story: Story) -> str:
    """A story's developments oldest first, then the undated reports apart."""
    parts = [
        f'<div class="nd-timeline" data-story="{esc(timeline.story_id)}">',
        f"<h3>{esc(timeline.headline)}</h3>",
        f'<div class="nd-profile-meta">{len(story.articles)} reports \u00b7 '
        f"{esc(_span(story.first or '', story.last or ''))}</div>",
        '<ol class="nd-tl">',
        *(_entry(e, True) for e in timeline.entries),
        "</ol>",
    ]
    if timeline.undated:
        parts += [
            "<h4>Undated reports</h4>",
            '<ul class="nd-tl nd-undated">',
            *(_entry(e, False) for e in timeline.undated),
            "</ul>",
        ]
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------ sources
def _articles(n: int) -> str:
    return f"{n:,} article{'s' * (n != 1)}"


def dates_text(first: str, last: str) -> str:
    """A span of publication dates: "2022-11-24 to 2024-02-14", one day, or "undated"."""
    if not first:
        return "undated"
    return first if first == last else f"{first} to {last}"


def ingested_text(at: str) -> str:
    """When a source was last ingested: "2026-03-01 14:02 UTC", or "not recorded"."""
    if not at:
        return "not recorded"
    return f"{at[:10]} {at[11:16]} UTC" if len(at) >= 16 else at


def source_choice(origin: Origin) -> tuple[str, str]:
    """(label, value) of a source in the removal picker."""
    return f"{shorten(origin.name, 80)} ({_articles(origin.articles)})", origin.origin


def sources_html(origins: Sequence[Origin]) -> str:
    """The table of the archive's sources: name (a folder's folders folded below it), kind,
    articles, publication dates, last ingest."""
    if not origins:
        return empty_html("The archive holds no articles yet.")
    total = sum(o.articles for o in origins)
    n = len(origins)
    parts = [
        '<div class="nd-sources">',
        f'<div class="nd-profile-meta">{n:,} source{"s" * (n != 1)}, {_articles(total)}</div>',
        '<table class="nd-src-table"><thead><tr><th>Source</th><th>Kind</th>'
        "<th>Articles</th><th>Published</th><th>Last update</th></tr></thead><tbody>",
    ]
    for o in origins:
        parts.append(
            f'<tr class="nd-src" data-origin="{esc(o.origin)}" data-kind="{esc(o.kind)}">'
            f'<td class="nd-src-name">{esc(o.name)}{_parts_html(o)}</td>'
            f"<td>{esc(KIND_WORDS.get(o.kind, o.kind))}</td>"
            f'<td class="nd-src-count">{o.articles:,}</td>'
            f'<td class="nd-src-dates">{esc(dates_text(o.first, o.last))}</td>'
            f'<td class="nd-src-when">{esc(ingested_text(o.ingested))}</td></tr>'
        )
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _parts_html(origin: Origin) -> str:
    if not origin.parts:
        return ""
    n = len(origin.parts)
    folders = sum(p.name.endswith("/") for p in origin.parts)
    counted = [
        f"{k:,} {word}{'s' * (k != 1)}"
        for k, word in ((folders, "folder"), (n - folders, "file"))
        if k
    ]
    items = [
        f'<li><span class="nd-doc">{esc(p.name)}</span> \u00b7 {_articles(p.articles)} \u00b7 '
        f"{esc(dates_text(p.first, p.last))}</li>"
        for p in origin.parts[:MAX_PARTS]
    ]
    if n > MAX_PARTS:
        items.append(f"<li>and {n - MAX_PARTS:,} more</li>")
    return (
        f'<details class="nd-parts"><summary>{", ".join(counted)}</summary>'
        f"<ul>{''.join(items)}</ul></details>"
    )


def status_html(
    message: str, errors: Sequence[str] = (), *, working: bool = False, failed: bool = False
) -> str:
    """The status line of a change to the sources: what it is doing, or what it did (or why
    it could not) and each error on a line of its own."""
    state = "nd-working" if working else ("nd-failed" if failed or errors else "nd-done")
    lines = "".join(f'<li class="nd-error">{esc(e)}</li>' for e in errors)
    return (
        f'<div class="nd-status {state}"><span class="nd-status-line">{esc(message)}</span>'
        + (f'<ul class="nd-src-errors">{lines}</ul>' if lines else "")
        + "</div>"
    )


__all__ = [
    "dates_text",
    "empty_html",
    "ingested_text",
    "name_choice",
    "profile_html",
    "source_choice",
    "sources_html",
    "status_html",
    "story_choice",
    "timeline_html",
]
