#!/usr/bin/env python3
"""Drive `memp serve` with the official MCP Python SDK (`mcp` on PyPI) over stdio or streamable HTTP.

    python3 scripts/mcp_check.py stdio --memp .build/debug/memp --store DIR
    python3 scripts/mcp_check.py http --url http://127.0.0.1:PORT/mcp

Lists the tools, adds a trajectory, looks it up, records an outcome, shows the memory and reads the stats, then
calls a tool with a bad argument. Prints one JSON object with what the server answered; exits 1 on a failed check.
"""
import argparse
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def structured(result):
    """The result's structured content (`structured_content` in mcp 2, `structuredContent` in mcp 1)."""
    value = getattr(result, "structured_content", None)
    return value if value is not None else getattr(result, "structuredContent", None) or {}


def is_error(result):
    value = getattr(result, "is_error", None)
    return bool(value if value is not None else getattr(result, "isError", False))


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def exercise(session):
    await session.initialize()
    tools = sorted(tool.name for tool in (await session.list_tools()).tools)
    trajectory = {
        "id": "mcp-1",
        "task": "water the tomato plants in the greenhouse",
        "steps": [{"action": "take the watering can"}, {"action": "fill it at the tap"},
                  {"action": "water the tomatoes"}],
        "outcome": {"success": True},
    }
    added = await session.call_tool("add_trajectory", {"trajectory": trajectory})
    lookup = await session.call_tool(
        "lookup_procedures", {"task": "water the tomato plants", "k": 1, "mode": "bm25"})
    ids = [hit["id"] for hit in structured(lookup).get("hits", [])]
    outcome = await session.call_tool("record_outcome", {"memories": ids, "success": True})
    shown = await session.call_tool("show_memory", {"id": "mcp-1"})
    stats = await session.call_tool("memory_stats", {})
    bad = await session.call_tool("lookup_procedures", {"task": "x", "k": 0})
    unknown = await session.call_tool("show_memory", {"id": "no-such-memory"})
    return {
        "tools": tools,
        "added": structured(added).get("report", {}).get("imported"),
        "addedText": text_of(added),
        "lookupIds": ids,
        "lookupText": text_of(lookup),
        "feedback": structured(outcome).get("memories"),
        "shownHits": structured(shown).get("memory", {}).get("hitCount"),
        "memories": structured(stats).get("statistics", {}).get("memories"),
        "badIsError": is_error(bad),
        "badText": text_of(bad),
        "unknownIsError": is_error(unknown),
        "unknownText": text_of(unknown),
    }


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--memp")
    parser.add_argument("--store")
    parser.add_argument("--url")
    arguments = parser.parse_args()
    if arguments.transport == "stdio":
        parameters = StdioServerParameters(
            command=arguments.memp, args=["serve", "--mcp-stdio", "--store", arguments.store])
        async with stdio_client(parameters) as (read, write):
            async with ClientSession(read, write) as session:
                report = await exercise(session)
    else:
        async with streamable_http_client(arguments.url) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                report = await exercise(session)
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
