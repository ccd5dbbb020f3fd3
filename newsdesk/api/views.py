"""The assistant's answers, hits and articles in the API's shapes (`api.schemas`); the HTTP
routes and the MCP tools both speak through these, so they cannot drift apart."""

from __future__ import annotations

from newsdesk.api.schemas import (
    ArticleOut,
    AskOut,
    CitationOut,
    FiltersIn,
    FiltersOut,
    NameOut,
    NewsdeskReply,
    PassageOut,
    QuoteOut,
    RetrievedOut,
    SearchHit,
    SearchResponse,
)
from newsdesk.assistant import Assistant
from newsdesk.core.types import Answer, ArticleHit, Filters, check_date_range
from newsdesk.retriever.answering import Retrieval

EVIDENCE_LABEL = "Closest evidence (not an answer):"


def filters_of(given: FiltersIn | None) -> Filters:
    """The request's filters; a range set backwards is a QuestionError (400)."""
    if given is None:
        return Filters()
    check_date_range(given.since, given.until)
    return Filters(
        since=given.since,
        until=given.until,
        sources=tuple(given.sources),
        categories=tuple(given.categories),
        names=tuple(given.names),
    )


def filters_out(filters: Filters) -> FiltersOut:
    return FiltersOut(
        since=filters.since,
        until=filters.until,
        sources=list(filters.sources),
        categories=list(filters.categories),
        names=list(filters.names),
    )


def citations_out(answer: Answer) -> list[CitationOut]:
    out = []
    for c in answer.citations:
        at = c.passage.text.find(c.quote) if c.quote else -1
        start = c.passage.start + at if at >= 0 else None
        out.append(
            CitationOut(
                n=c.n,
                doc_id=c.passage.doc_id,
                title=c.passage.title,
                source=c.passage.source,
                published=c.passage.published or None,
                url=c.passage.url or None,
                quote=c.quote,
                passage=c.passage.text,
                start=c.passage.start,
                end=c.passage.end,
                quote_start=start,
                quote_end=start + len(c.quote) if start is not None else None,
                page=c.page or None,
                page_end=c.page_span[1] or None,
            )
        )
    return out


def ask_out(answer: Answer) -> AskOut:
    """An answer outside the chat format (the MCP `ask` tool)."""
    return AskOut(
        answer=answer.text,
        status=answer.status,
        refused=answer.refused,
        evidence=answer.evidence or None,
        citations=citations_out(answer),
    )


def reply_out(answer: Answer, filters: Filters) -> NewsdeskReply:
    return NewsdeskReply(
        status=answer.status,
        refused=answer.refused,
        standalone_question=answer.standalone_question,
        evidence=answer.evidence or None,
        filters=filters_out(filters),
        retrieved=[
            RetrievedOut(doc_id=h.doc_id, score=round(h.score, 6)) for h in answer.retrieved
        ],
        notice=answer.notice or None,
    )


def content_of(answer: Answer) -> str:
    """The message a plain chat client shows: the answer, and for `not_stated` the closest
    evidence under a label saying it is not an answer (its `[n]` are the citations)."""
    if answer.evidence:
        return f"{answer.text}\n\n{EVIDENCE_LABEL}\n{answer.evidence}"
    return answer.text


def hits_out(hits: tuple[ArticleHit, ...]) -> list[SearchHit]:
    out = []
    for rank, hit in enumerate(hits, start=1):
        best = hit.best
        out.append(
            SearchHit(
                rank=rank,
                doc_id=hit.doc_id,
                score=round(hit.score, 6),
                title=best.title,
                source=best.source,
                published=best.published or None,
                url=best.url or None,
                category=best.category or None,
                passages=[
                    PassageOut(
                        chunk_id=p.chunk_id,
                        text=p.text,
                        start=p.start,
                        end=p.end,
                        score=round(p.score, 6),
                        page=p.page or None,
                    )
                    for p in hit.passages
                ],
            )
        )
    return out


def search_out(query: str, found: Retrieval) -> SearchResponse:
    """A retrieval as the search answer (the HTTP route's and the MCP tool's)."""
    return SearchResponse(
        query=query,
        standalone_query=found.standalone_question,
        filters=filters_out(found.filters),
        data=hits_out(found.hits),
    )


def article_out(assistant: Assistant, doc_id: str) -> ArticleOut | None:
    """The article `doc_id` with its quotes and names (empty before `newsdesk enrich`)."""
    article = assistant.article(doc_id)
    if article is None:
        return None
    return ArticleOut(
        doc_id=article.doc_id,
        title=article.title,
        text=article.text,
        source=article.source,
        published=article.published or None,
        url=article.url or None,
        category=article.category or None,
        author=article.author or None,
        quotes=[
            QuoteOut(
                speaker=q.speaker,
                mention=q.mention,
                quote=q.text,
                start=q.start,
                end=q.end,
                attribution=q.attribution,
            )
            for q in assistant.archive.article_quotes(doc_id)
        ],
        names=[NameOut(name=n, type=t) for n, t in assistant.archive.names_in([doc_id])],
    )


__all__ = [
    "EVIDENCE_LABEL",
    "article_out",
    "ask_out",
    "citations_out",
    "content_of",
    "filters_of",
    "filters_out",
    "hits_out",
    "reply_out",
    "search_out",
]
