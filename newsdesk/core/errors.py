"""The project's own exceptions. The CLI and UI turn them into one-line messages."""

from __future__ import annotations


class NewsdeskError(Exception):
    """Base class of every error Newsdesk raises on purpose."""


class ConfigError(NewsdeskError):
    """A setting is missing or has a value that cannot work."""


class IngestError(NewsdeskError):
    """An input could not be turned into articles. Carries the path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StoreError(NewsdeskError):
    """Base for problems with the index directory or the vector store."""


class IndexNotFoundError(StoreError):
    """No index at the given location (nothing has been ingested yet)."""


class IndexCorruptError(StoreError):
    """The index directory exists but is not a Newsdesk index, or is damaged."""


class IndexUnavailableError(StoreError):
    """The vector store cannot be reached (e.g. the Chroma server is down)."""


class IndexWriteError(StoreError):
    """The index could not be written (read-only directory, full disk, ...)."""


class EmbeddingModelMismatchError(StoreError):
    """The index was built with a different embedding model than the one configured."""


class ModelLoadError(NewsdeskError):
    """The embedding model could not be loaded from the configured name or path."""


class NlpModelError(NewsdeskError):
    """The spaCy pipeline for named entities is missing or broken."""


class QuestionError(NewsdeskError):
    """The question cannot be asked as given (empty, too long, ...)."""


class LLMError(NewsdeskError):
    """The generative answerer's server failed, timed out or replied unusably."""


class EvalError(NewsdeskError):
    """An eval cannot run as asked: a malformed question file, relevant doc_ids missing from
    the index, an unknown metric in a gate."""
