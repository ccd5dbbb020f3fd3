"""What the UI sends to the browser besides components: the stylesheet and the small scripts
that make a citation `[n]` open and scroll to its highlighted passage in the sources panel,
and a name in an answer open its page in the People tab.

Static text written here, never built from article data.
"""

from __future__ import annotations

CSS = """
.nd-answer { line-height: 1.55; }
a.nd-cite { font-weight: 600; text-decoration: none; color: var(--color-accent);
  cursor: pointer; padding: 0 1px; }
a.nd-cite:hover { text-decoration: underline; }
.nd-hint, .nd-notice { font-size: 0.85em; opacity: 0.75; margin: 0.4em 0 0; }
.nd-error { color: var(--error-text-color, #b91c1c); }
.nd-not-stated > p:first-child { font-weight: 600; }
.nd-evidence { line-height: 1.55; opacity: 0.85; border-left: 3px solid var(--border-color-primary);
  padding-left: 0.6em; }
.nd-closest { margin: 0.2em 0 0 1.2em; }
.nd-closest .nd-meta { opacity: 0.75; font-size: 0.9em; }
.nd-sources h3 { margin: 0 0 0.4em; }
.nd-empty, .nd-kind { opacity: 0.8; font-size: 0.9em; }
.nd-turn > summary { cursor: pointer; font-weight: 600; margin: 0.3em 0; }
.nd-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.6em 0.8em; margin: 0.5em 0; }
.nd-source.nd-active { border-color: var(--color-accent);
  box-shadow: 0 0 0 2px var(--color-accent-soft); }
.nd-source-title { font-weight: 600; }
.nd-label { font-weight: 700; color: var(--color-accent); margin-right: 0.35em; }
.nd-source-meta, .nd-source-link { font-size: 0.85em; opacity: 0.8; word-break: break-all; }
.nd-article { margin-top: 0.5em; max-height: 22em; overflow-y: auto; line-height: 1.5;
  font-size: 0.92em; }
.nd-passage { background: rgba(250, 204, 21, 0.14); }
mark.nd-quote { background: #fde68a; color: #111; padding: 0 1px; border-radius: 2px; }
mark.nd-quote.nd-active { background: #fbbf24; }
.nd-gap { opacity: 0.6; }
.nd-facts { font-size: 0.9em; line-height: 1.5; }
a.nd-name { color: inherit; text-decoration: underline dotted; text-underline-offset: 2px;
  cursor: pointer; }
a.nd-name:hover { color: var(--color-accent); }
.nd-hidden { display: none !important; }
.nd-src-table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.3em 0; }
.nd-src-table th, .nd-src-table td { padding: 0.3em 0.6em; text-align: left; vertical-align: top;
  border: none; border-bottom: 1px solid var(--border-color-primary); }
.nd-src-table td.nd-src-count { text-align: right; }
.nd-src-name { word-break: break-all; }
.nd-parts summary { cursor: pointer; font-size: 0.9em; opacity: 0.8; }
.nd-parts ul { margin: 0.2em 0 0 1.2em; font-size: 0.9em; }
.nd-status { margin: 0.4em 0; }
.nd-status.nd-working .nd-status-line { font-style: italic; }
.nd-status.nd-done .nd-status-line, .nd-status.nd-failed .nd-status-line { font-weight: 600; }
.nd-src-errors { margin: 0.3em 0 0 1.2em; font-size: 0.9em; }
"""

# Runs once per page (guarded), from the sources panel's js_on_load. Handles clicks on
# `a.nd-cite` anywhere (the chat included): opens the folded turn, marks the citation active
# and scrolls its quote into view. Without it the plain `#cite-..` link still jumps there.
CITATION_CLICKS_JS = """
if (!window.__newsdeskCitations) {
  window.__newsdeskCitations = true;
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.nd-cite") : null;
    if (!link) return;
    const id = (link.getAttribute("href") || "").replace(/^#/, "");
    if (!/^(cite|near)-[0-9]+-[0-9]+$/.test(id)) return;
    event.preventDefault();
    const target = document.getElementById(id);
    if (!target) return;
    let fold = target.closest("details");
    while (fold) {
      fold.open = true;
      fold = fold.parentElement ? fold.parentElement.closest("details") : null;
    }
    document.querySelectorAll(".nd-active").forEach((el) => el.classList.remove("nd-active"));
    const marks = document.querySelectorAll("mark.nd-q-" + id);
    marks.forEach((el) => el.classList.add("nd-active"));
    const card = target.closest(".nd-source");
    if (card) card.classList.add("nd-active");
    (marks[0] || target).scrollIntoView({ behavior: "smooth", block: "center" });
  }, true);
}
"""

# Runs once per page (guarded), from the sources panel's js_on_load with the script above.
# A click on `a.nd-name` in an answer (its href `#name-<the name, url-encoded>`: the chat's
# sanitiser keeps href, not data- attributes) puts the name in the hidden `#nd-name-open` box and
# presses the hidden `#nd-name-go` button: the server opens the People tab on that name.
NAME_CLICKS_JS = """
if (!window.__newsdeskNames) {
  window.__newsdeskNames = true;
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.nd-name") : null;
    if (!link) return;
    const href = link.getAttribute("href") || "";
    if (!href.startsWith("#name-")) return;
    event.preventDefault();
    const box = document.querySelector("#nd-name-open textarea, #nd-name-open input");
    const go = document.querySelector("#nd-name-go");
    if (!box || !go) return;
    let name = "";
    try { name = decodeURIComponent(href.slice(6)); } catch (e) { return; }
    box.value = name;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => go.click(), 50);
  }, true);
}
"""
