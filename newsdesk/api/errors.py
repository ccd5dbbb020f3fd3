"""The API's errors: OpenAI's error object (`{"error": {"message", "type", "param",
"code"}}`) with the status that says whose fault it is. Responses are rendered ASCII-only, so
no request text echoed back (a lone surrogate in a model name, a filter value) can make the
encoding fail and turn a bad request into a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from newsdesk.api.schemas import error_json
from newsdesk.core.errors import NewsdeskError, QuestionError, StoreError

log = logging.getLogger(__name__)

UNEXPECTED = "something went wrong inside Newsdesk; the details are in the server log"


class AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: valid for any string it is given."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    code: str | None = None,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsciiJSON:
    body = error_json(message, kind, code, param).model_dump()
    return AsciiJSON(body, status_code=status, headers=headers)


def error_of(exc: BaseException) -> AsciiJSON:
    """The response for an exception: the asker's fault 400, the index's 503, anything else
    a 500 whose details are logged, not sent."""
    if isinstance(exc, QuestionError):
        return error(400, _one_line(exc), code="invalid_question")
    if isinstance(exc, StoreError):
        return error(503, _one_line(exc), "server_error", "index_unavailable")
    if isinstance(exc, NewsdeskError):
        return error(500, _one_line(exc), "server_error")
    log.error("unexpected error answering an API request", exc_info=exc)
    return error(500, UNEXPECTED, "server_error")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


__all__ = ["UNEXPECTED", "AsciiJSON", "error", "error_of"]
