"""Realistic, deterministic traces to seed the fake with.

Each generated trace has a root ``SPAN`` observation whose input/output are
the trace's, and optionally a child ``GENERATION`` (model call with usage and
cost).  Inputs and outputs are plain strings or chat-message lists; some
traces carry ``metadata.expected_output`` (a string or a chat list), a few have
no output yet (``pending_output_fraction``, for late-output tests).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence

from .model import Observation, Trace

_TOPICS = [
    ("the capital of France", "Paris is the capital of France.", "The capital of France is Paris."),
    ("how photosynthesis works", "Plants turn light, water and carbon dioxide into sugar and oxygen.",
     "Photosynthesis converts light energy, water and CO2 into glucose and oxygen."),
    ("the boiling point of water", "Water boils at 100 degrees Celsius at sea level.",
     "At sea level water boils at 100 °C (212 °F)."),
    ("what a hash map is", "A hash map stores key-value pairs and finds values by hashing the key.",
     "A hash map is a data structure mapping keys to values using a hash function."),
    ("why the sky is blue", "Air scatters blue light more than red light, so the sky looks blue.",
     "Rayleigh scattering of sunlight by air molecules makes the sky appear blue."),
    ("how to reverse a list in Python", "Use my_list.reverse() or my_list[::-1].",
     "Call list.reverse() in place, or slice with [::-1] for a reversed copy."),
    ("the speed of light", "Light travels at about 299,792 kilometres per second in a vacuum.",
     "The speed of light in vacuum is 299,792,458 m/s."),
    ("what an API rate limit is", "A rate limit caps how many requests a client may send in a time window.",
     "Rate limiting restricts the number of API calls a client can make per period."),
    ("who wrote Hamlet", "William Shakespeare wrote Hamlet.", "Hamlet was written by William Shakespeare."),
    ("how vaccines work", "Vaccines train the immune system to recognise a pathogen without causing disease.",
     "A vaccine exposes the immune system to an antigen so it can respond faster later."),
]
_PREFIXES = ["Can you explain", "Please tell me", "Quick question about", "I need to know", "Explain briefly"]
_NAMES = ["chat", "qa-bot", "support-agent", "rag-answer"]
_TAGS = ["production", "staging-test", "beta", "eu", "us", "mobile", "web"]
_MODELS = ["gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"]


@dataclass
class SeedOptions:
    """How `generate_traces` shapes the traces; every field has a realistic default."""

    seed: int = 0
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
    #: Time between consecutive traces.
    interval: timedelta = timedelta(seconds=30)
    names: Sequence[str] = tuple(_NAMES)
    environments: Sequence[str] = ("production", "staging")
    releases: Sequence[str] = ("v1.4.0", "v1.5.0")
    versions: Sequence[str] = ("1", "2")
    users: int = 20
    sessions: int = 40
    chat_fraction: float = 0.4
    expected_fraction: float = 0.5
    pending_output_fraction: float = 0.0
    #: Add a child GENERATION observation per trace.
    with_generation: bool = True
    id_prefix: str = ""


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _chat(question: str, answer: Optional[str], rng: random.Random) -> tuple[list, Optional[list]]:
    system = {"role": "system", "content": "You are a helpful assistant. Answer concisely."}
    user = {"role": "user", "content": question}
    messages = [system, user]
    if rng.random() < 0.3:
        # A prior turn, so "last user message" rules are exercised.
        messages = [system, {"role": "user", "content": "Hi!"},
                    {"role": "assistant", "content": "Hello! How can I help?"}, user]
    output = None if answer is None else [{"role": "assistant", "content": answer}]
    return messages, output


def generate_traces(n: int, options: Optional[SeedOptions] = None) -> list[Trace]:
    """``n`` traces, oldest first, identical for the same options (and seed)."""
    opts = options or SeedOptions()
    rng = random.Random(opts.seed)
    traces: list[Trace] = []
    for i in range(n):
        topic, answer, expected = _TOPICS[rng.randrange(len(_TOPICS))]
        question = f"{rng.choice(_PREFIXES)} {topic}?"
        ts = opts.start + opts.interval * i + timedelta(milliseconds=rng.randrange(1000))
        trace_id = f"{opts.id_prefix}{i:06d}" if opts.id_prefix else _hex(rng, 32)
        pending = rng.random() < opts.pending_output_fraction
        is_chat = rng.random() < opts.chat_fraction
        if is_chat:
            trace_input, trace_output = _chat(question, None if pending else answer, rng)
        else:
            trace_input, trace_output = question, (None if pending else answer)
        metadata: dict[str, Any] = {"request_id": f"req-{i:06d}", "latency_budget_ms": 2000}
        if rng.random() < opts.expected_fraction:
            metadata["expected_output"] = (
                [{"role": "assistant", "content": expected}] if is_chat and rng.random() < 0.5 else expected
            )
        tags = sorted(set(rng.sample(_TAGS, k=rng.randint(0, 3))))
        environment = opts.environments[i % len(opts.environments)] if opts.environments else "default"
        trace = Trace(
            id=trace_id,
            timestamp=ts,
            name=opts.names[rng.randrange(len(opts.names))] if opts.names else None,
            input=trace_input,
            output=trace_output,
            session_id=f"session-{rng.randrange(max(opts.sessions, 1)):04d}",
            release=rng.choice(list(opts.releases)) if opts.releases else None,
            version=rng.choice(list(opts.versions)) if opts.versions else None,
            user_id=f"user-{rng.randrange(max(opts.users, 1)):03d}",
            metadata=metadata,
            tags=tags,
            environment=environment,
            created_at=ts,
            updated_at=ts,
        )
        duration = timedelta(milliseconds=200 + rng.randrange(2500))
        root = Observation(
            id=_hex(rng, 16),
            trace_id=trace_id,
            type="SPAN",
            name=trace.name,
            start_time=ts,
            end_time=None if pending else ts + duration,
            environment=environment,
            version=trace.version,
            input=trace_input,
            output=trace_output,
            metadata=dict(metadata),
            created_at=ts,
            updated_at=ts,
            is_root=True,
        )
        trace.observations.append(root)
        if opts.with_generation:
            gen_start = ts + timedelta(milliseconds=20 + rng.randrange(50))
            gen_end = gen_start + duration * 0.8
            prompt_tokens = 20 + rng.randrange(400)
            completion_tokens = 5 + rng.randrange(200)
            model = rng.choice(_MODELS)
            gen_input, gen_output = _chat(question, None if pending else answer, rng)
            trace.observations.append(Observation(
                id=_hex(rng, 16),
                trace_id=trace_id,
                type="GENERATION",
                name="llm-call",
                start_time=gen_start,
                end_time=None if pending else gen_end,
                parent_observation_id=root.id,
                environment=environment,
                version=trace.version,
                input=gen_input,
                output=None if gen_output is None else gen_output[0],
                metadata={"provider": model.split("-")[0]},
                model=model,
                model_parameters={"temperature": 0.2, "max_tokens": 512},
                usage_details={"input": prompt_tokens, "output": completion_tokens,
                               "total": prompt_tokens + completion_tokens},
                cost_details={"input": prompt_tokens * 1.5e-7, "output": completion_tokens * 6e-7,
                              "total": prompt_tokens * 1.5e-7 + completion_tokens * 6e-7},
                completion_start_time=gen_start + timedelta(milliseconds=150),
                created_at=gen_start,
                updated_at=gen_start,
            ))
        traces.append(trace)
    return traces


def trace_from_json(data: dict[str, Any], *, default_timestamp: datetime) -> Trace:
    """A trace from the control API's JSON (API field names), with a root observation.

    Accepted keys: id (required), timestamp, name, input, output, sessionId,
    release, version, userId, metadata, tags, public, bookmarked, environment,
    and ``observations``: extra child observations (id, type, name, startTime,
    endTime, input, output, metadata, model, level).
    """
    from .model import parse_iso

    if not isinstance(data, dict) or not data.get("id"):
        raise ValueError("a trace needs a non-empty string 'id'")
    ts = parse_iso(data["timestamp"]) if data.get("timestamp") else default_timestamp
    environment = data.get("environment") or "default"
    trace = Trace(
        id=str(data["id"]),
        timestamp=ts,
        name=data.get("name"),
        input=data.get("input"),
        output=data.get("output"),
        session_id=data.get("sessionId"),
        release=data.get("release"),
        version=data.get("version"),
        user_id=data.get("userId"),
        metadata=dict(data.get("metadata") or {}),
        tags=list(data.get("tags") or []),
        public=bool(data.get("public", False)),
        bookmarked=bool(data.get("bookmarked", False)),
        environment=environment,
        created_at=ts,
        updated_at=ts,
    )
    root_id = data.get("rootObservationId") or ("root-" + trace.id)[:64]
    end = parse_iso(data["endTime"]) if data.get("endTime") else ts + timedelta(milliseconds=800)
    trace.observations.append(Observation(
        id=root_id, trace_id=trace.id, type=data.get("rootType") or "SPAN", name=trace.name,
        start_time=ts, end_time=end, environment=environment, version=trace.version,
        input=trace.input, output=trace.output, metadata=dict(trace.metadata),
        created_at=ts, updated_at=ts, is_root=True,
    ))
    for child in data.get("observations") or []:
        start = parse_iso(child["startTime"]) if child.get("startTime") else ts
        trace.observations.append(Observation(
            id=str(child["id"]), trace_id=trace.id, type=child.get("type") or "SPAN",
            name=child.get("name"), start_time=start,
            end_time=parse_iso(child["endTime"]) if child.get("endTime") else None,
            parent_observation_id=child.get("parentObservationId") or root_id,
            level=child.get("level") or "DEFAULT", environment=environment, version=trace.version,
            input=child.get("input"), output=child.get("output"),
            metadata=dict(child.get("metadata") or {}), model=child.get("model"),
            created_at=start, updated_at=start,
        ))
    return trace
