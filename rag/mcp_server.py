"""`kaynak mcp`: the same `Assistant` as Model Context Protocol tools, served over stdio.

Agents (Claude Desktop, Cursor, any MCP client) get answers whose every sentence cites an
exact quote of a source, the ranked passages, and the list of documents. Ingesting is off
unless the user turns it on (`kaynak mcp --allow-ingest`); it then follows the page's rules
(no private addresses unless KAYNAK_ALLOW_PRIVATE_URLS, the file size limit).

The `mcp` package (the official Python SDK, MIT) is an optional extra: `pip install
'kaynak[mcp]'`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rag.config import ConfigError
from rag.formats import LoadError
from rag.prompts import MCP_ASK, MCP_DOCUMENTS, MCP_INGEST, MCP_INSTRUCTIONS, MCP_SEARCH
from rag.retrieval import QuestionError
from rag.store_errors import StoreError
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from rag.assistant import Assistant


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    question: str = Field(description="what was asked")
    answer: str = Field(description="the answer's text as Kaynak gave it")


def answer_record(answer: Answer) -> dict[str, Any]:
    """What the `ask` tool returns: the checked answer and its citations, in plain JSON."""
    return {**answer.to_record(), "abstained_because": answer.text if answer.abstained else ""}


def passage_record(passage: Passage) -> dict[str, Any]:
    record = asdict(passage)
    record["score"] = round(float(passage.score), 4)
    return record


def build_server(bot: Assistant, allow_ingest: bool = False) -> MCPServer:
    """The MCP server with Kaynak's tools, answering from `bot`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    app = MCPServer(name="kaynak", instructions=MCP_INSTRUCTIONS)

    def guarded(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Kaynak's own errors become tool errors the agent reads; nothing crashes the server."""
        try:
            return call()
        except (QuestionError, ConfigError, LoadError, StoreError) as exc:
            raise ToolError(str(exc)) from None

    @app.tool(description=MCP_ASK)
    def ask(question: str, history: list[Turn] | None = None) -> dict[str, Any]:
        turns = [(t.question, t.answer) for t in history or []]
        return guarded(lambda: answer_record(bot.ask(question, history=turns)))

    @app.tool(description=MCP_SEARCH)
    def search(query: str, k: int = 5) -> dict[str, Any]:
        return guarded(lambda: {"passages": [passage_record(p) for p in bot.retrieve(query, k=k)]})

    @app.tool(description=MCP_DOCUMENTS)
    def documents() -> dict[str, Any]:
        return guarded(lambda: {"documents": [asdict(d) for d in bot.documents()]})

    if allow_ingest:

        @app.tool(description=MCP_INGEST)
        def ingest(sources: list[str]) -> dict[str, Any]:
            if not sources:
                raise ToolError("name at least one file, folder or http(s) URL")
            return guarded(lambda: bot.ingest(sources, background=True).to_dict())

    return app


def serve(bot: Assistant, allow_ingest: bool = False) -> int:
    """Serve the tools over stdio until the client closes the connection."""
    build_server(bot, allow_ingest).run()
    return 0
