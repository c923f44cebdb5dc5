"""A fake OpenAI-compatible chat-completions server for tests (127.0.0.1 only)."""

from .server import (
    Answer, Behaviour, CloseConnection, Content, Endless, FakeOpenAI, RateLimited, ReceivedRequest, ServerError, Slow,
    Trickle,
)

__all__ = [
    "Answer", "Behaviour", "CloseConnection", "Content", "FakeOpenAI", "RateLimited", "ReceivedRequest",
    "ServerError", "Slow", "Endless", "Trickle",
]
