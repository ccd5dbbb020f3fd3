"""The headless API: OpenAI-compatible chat with citations, search, articles, MCP."""
