"""HTML of the People and Stories tabs: a name's page and a story's timeline.

Everything shown comes from the archive (names, titles, quotes, lead sentences) and is
escaped here, as in `ui.render`; nothing an article holds becomes markup.
"""

from __future__ import annotations

from newsdesk.retriever.profiles import Name, Profile
from newsdesk.retriever.stories import Story, Timeline, TimelineEntry
from newsdesk.ui.render import esc, shorten

MAX_QUOTES = 20
MAX_ARTICLES = 30
TYPE_WORDS = {"person": "Person", "org": "Organisation", "place": "Place"}


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


__all__ = [
    "empty_html",
    "name_choice",
    "profile_html",
    "story_choice",
    "timeline_html",
]
