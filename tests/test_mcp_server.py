"""rag/mcp_server.py: `kaynak mcp` started as a subprocess and driven by the MCP SDK's own
client over stdio, as Claude Desktop or Cursor would drive it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bench.harness import BIN, ROOT, kaynak_env

mcp = pytest.importorskip(
    "mcp", reason="the MCP tests need the `mcp` extra (make test installs it)"
)
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

pytestmark = pytest.mark.slow
Session = Callable[[ClientSession], Awaitable[None]]


def run_client(home: Path, session: Session, *args: str) -> None:
    """Start `kaynak mcp ARGS` on `home` and run `session` against it."""

    async def main() -> None:
        server = StdioServerParameters(
            command=str(BIN / "kaynak"), args=["mcp", *args], env=kaynak_env(home), cwd=ROOT
        )
        async with (
            stdio_client(server) as (read, write),
            ClientSession(read, write) as client,
        ):
            await asyncio.wait_for(client.initialize(), timeout=300)
            await session(client)

    asyncio.run(main())


async def call(client: ClientSession, tool: str, **arguments: Any) -> tuple[bool, Any]:
    """(is_error, the structured result or the error text)."""
    result = await asyncio.wait_for(client.call_tool(tool, arguments), timeout=120)
    if result.is_error:
        return True, " ".join(getattr(c, "text", "") for c in result.content)
    return False, result.structured_content


def test_an_agent_gets_checked_quotes_abstentions_and_clear_errors(tmp_path, bot):
    seen: dict[str, Any] = {}

    async def session(client: ClientSession) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        seen["tools"] = tools
        seen["joly"] = await call(client, "ask", question="What did Joly say?")
        seen["follow-up"] = await call(
            client,
            "ask",
            question="And Hayashi?",
            history=[{"question": "What did Joly say?", "answer": seen["joly"][1]["text"]}],
        )
        seen["off-topic"] = await call(
            client, "ask", question="What did Justin Trudeau say about the talks?"
        )
        seen["search"] = await call(client, "search", query="Hayashi", k=3)
        seen["documents"] = await call(client, "documents")
        seen["empty"] = await call(client, "ask", question="   ")
        seen["huge"] = await call(client, "ask", question="x " * 50_000)
        seen["wrong type"] = await call(client, "ask", question=42)
        seen["bad k"] = await call(client, "search", query="Joly", k=0)
        seen["no ingest"] = await call(client, "ingest", sources=[str(tmp_path)])
        seen["after"] = await call(client, "ask", question="Who did Joly meet in Tokyo?")

    run_client(tmp_path / "home", session)

    tools = seen["tools"]
    assert set(tools) == {"ask", "search", "documents"}  # ingest is off unless allowed
    assert "verbatim" in tools["ask"].description and "abstained" in tools["ask"].description

    failed, joly = seen["joly"]
    assert not failed and not joly["abstained"] and "[1]" in joly["text"]
    assert joly["citations"], joly
    for c in joly["citations"]:  # every quote is the source's own text at its offsets
        assert bot.source_text(c["doc_id"])[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}]" in joly["text"] and c["title"] and c["url"].startswith("https://")
    assert any("Joly" in c["quote"] for c in joly["citations"])

    failed, follow_up = seen["follow-up"]
    assert not failed and any("Hayashi" in c["quote"] for c in follow_up["citations"])

    failed, off_topic = seen["off-topic"]
    assert not failed and off_topic["abstained"] and off_topic["citations"] == []
    assert off_topic["abstained_because"] == off_topic["text"] and "do not" in off_topic["text"]

    failed, found = seen["search"]
    assert not failed and 1 <= len(found["passages"]) <= 3
    assert "Hayashi" in found["passages"][0]["text"]
    scores = [p["score"] for p in found["passages"]]
    assert scores == sorted(scores, reverse=True)

    failed, docs = seen["documents"]
    assert not failed and [d["title"] for d in docs["documents"]] == [
        d.title for d in bot.documents()
    ]

    for case, message in [
        ("empty", "empty"),
        ("huge", "keep it under"),
        ("wrong type", "question"),
        ("bad k", "k must be"),
        ("no ingest", "Unknown tool: ingest"),
    ]:
        failed, text = seen[case]
        assert failed and message in text, (case, text)
    failed, after = seen["after"]  # the server outlived every bad call
    assert not failed and any("Hayashi" in c["quote"] for c in after["citations"])


def test_ingest_is_offered_only_when_allowed_and_keeps_the_pages_rules(tmp_path):
    note = tmp_path / "notes" / "ferry.txt"
    note.parent.mkdir()
    note.write_text(
        "The night ferry to Bodø was cancelled on Friday because of the storm.", encoding="utf-8"
    )
    seen: dict[str, Any] = {}

    async def session(client: ClientSession) -> None:
        seen["tools"] = {t.name for t in (await client.list_tools()).tools}
        seen["ingest"] = await call(client, "ingest", sources=[str(note.parent)])
        seen["private"] = await call(client, "ingest", sources=["http://127.0.0.1:1/x"])
        seen["nothing"] = await call(client, "ingest", sources=[])
        seen["ask"] = await call(client, "ask", question="Why was the night ferry cancelled?")

    run_client(tmp_path / "home", session, "--allow-ingest")
    assert seen["tools"] == {"ask", "search", "documents", "ingest"}
    failed, report = seen["ingest"]
    assert not failed and report["added"] == [str(note.resolve())], report
    failed, private = seen["private"]
    assert not failed and "KAYNAK_ALLOW_PRIVATE_URLS" in json.dumps(private["skipped"])
    failed, text = seen["nothing"]
    assert failed and "at least one" in text
    failed, answer = seen["ask"]
    assert not failed and any("storm" in c["quote"] for c in answer["citations"])
