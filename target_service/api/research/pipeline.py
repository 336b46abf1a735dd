"""The research pipeline: plan -> retrieval steps -> one summary per step -> cited answer.

    result = await run_research(question, depth, engine, index, passages=3, max_tokens=96)

1. Plan: one engine call asks for `depth` search queries, one per line.
2. For each step, BM25 over the corpus with the question plus that step's plan line (sources
   cited by earlier steps are excluded, so each step brings new evidence).
3. For each step with passages, one engine call summarises them for the question.
4. The answer is the step summaries, each followed by its citation numbers (`[1][2]`).
Engine errors propagate (the engine client has already retried); the caller fails the job.
"""

from __future__ import annotations

import asyncio
import re

from target_service.api.engine_protocol import EngineCaller
from target_service.api.research.retrieval import Bm25Index, Hit, tokenize
from target_service.api.research.schemas import Citation, ResearchResult

PLAN_SYSTEM = (
    "You are a research planner for questions about the Python standard library. "
    "Write {depth} short search queries that together answer the question, one per line."
)
SUMMARY_SYSTEM = (
    "You are a research assistant. Summarise what the numbered passages say about the question "
    "in two or three sentences, in plain prose, citing passages by number."
)
_SPLIT = re.compile(r"[\n.;?!]+")
_NUMBERING = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


async def run_research(
    question: str,
    depth: int,
    engine: EngineCaller,
    index: Bm25Index,
    *,
    passages: int = 3,
    max_tokens: int = 96,
) -> ResearchResult:
    """Answer `question` in `depth` retrieval steps; see the module docstring."""
    plan = await engine.complete(
        [
            {"role": "system", "content": PLAN_SYSTEM.format(depth=depth)},
            {"role": "user", "content": question},
        ],
        max_tokens,
    )
    citations: list[Citation] = []
    paragraphs: list[str] = []
    for query in plan_queries(question, plan.text, depth):
        cited = {c.source for c in citations}
        hits = await asyncio.to_thread(index.search, query, passages, cited)
        if not hits:
            continue
        first = len(citations) + 1
        citations.extend(_citation(hit) for hit in hits)
        summary = await engine.complete(
            [
                {"role": "system", "content": SUMMARY_SYSTEM},
                {"role": "user", "content": _summary_prompt(question, query, hits, first)},
            ],
            max_tokens,
        )
        marks = "".join(f"[{n}]" for n in range(first, len(citations) + 1))
        paragraphs.append(f"{' '.join(summary.text.split())} {marks}")
    if not paragraphs:
        paragraphs.append(" ".join(plan.text.split()))
    return ResearchResult(answer="\n\n".join(paragraphs), citations=citations)


def plan_queries(question: str, plan: str, depth: int) -> list[str]:
    """One retrieval query per step: the question plus a distinct line of the plan."""
    lines: list[str] = []
    for raw in _SPLIT.split(plan):
        line = _NUMBERING.sub("", raw).strip()
        if len(tokenize(line)) >= 2 and line not in lines:
            lines.append(line)
        if len(lines) == depth:
            break
    while len(lines) < depth:
        lines.append("")
    return [f"{question} {line}".strip() for line in lines]


def _citation(hit: Hit) -> Citation:
    p = hit.passage
    return Citation(source=p.source, title=p.title, snippet=hit.snippet, score=hit.score)


def _summary_prompt(question: str, query: str, hits: list[Hit], first: int) -> str:
    lines = [f"Question: {question}", f"Search: {query}", "Passages:"]
    lines += [f"[{first + i}] {h.passage.source}: {h.snippet}" for i, h in enumerate(hits)]
    return "\n".join(lines)
