"""The evaluation case: one trace, in the shapes real traces have."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_core import TzInfo

from .text import MAX_NESTING, too_deep

#: Metadata keys a reference (expected output) is read from when a trace has
#: no top-level ``expected``: Langfuse exports keep it in metadata.
DEFAULT_REFERENCE_KEYS: tuple[str, ...] = ("expected_output", "expected")


class EvalCase(BaseModel):
    """One trace to grade.

    ``input``, ``output`` and ``expected`` keep whatever shape the trace had:
    a string, a list of chat messages, nested JSON, or ``None``.  Graders
    reduce them to text with `rmg_core.text.to_text` and friends.
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    input: Any = None
    output: Any = None
    expected: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    timestamp: Optional[datetime] = None
    observation_id: Optional[str] = None
    #: When the trace finished (Langfuse: its root observation's end time); None when unknown.
    ended_at: Optional[datetime] = None
    #: The source saw the trace still running (no end time yet): its output may change, so a worker waits.
    running: bool = False
    #: The trace as the source read it, so a grader's mapping can name any of its keys.
    _trace: Any = PrivateAttr(default=None)

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, value: Any) -> Any:
        # Numeric ids are common in hand-made files; they are still ids.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            parsed = _maybe_json(value)
            return parsed if isinstance(parsed, dict) else {"value": value}
        return value

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: Optional[datetime]) -> Optional[datetime]:
        # A naive timestamp is taken as UTC, so ids and windows never depend
        # on the machine's time zone.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    def grader_fields(self) -> dict[str, Any]:
        """The fields graders are given, named as the seed's runner data names them.

        ``reference`` is left out when the trace has no expected output, so a
        grader that needs one reports a `GraderError` naming it.
        """
        fields: dict[str, Any] = {
            "trace_id": self.id,
            "input": self.input,
            "prediction": self.output,
            "metadata": self.metadata,
        }
        if self.expected is not None:
            fields["reference"] = self.expected
        # The private attribute straight from pydantic's slot: `self._trace` goes through
        # BaseModel.__getattr__, a Python call costing more than the rest of this method.
        trace = (self.__pydantic_private__ or {}).get("_trace")
        if trace is not None:
            fields["trace"] = trace
        return fields

    @property
    def trace(self) -> Any:
        """The trace as read (for mappings and filters); ``None`` when built directly."""
        return self._trace


@dataclass
class RawTrace:
    """One trace as a source read it, before it becomes an `EvalCase`: its data and where it was.

    Sources that read users' files yield these from ``Source.traces()``, so
    the core can detect the file's shape and apply the user's field mapping
    before building cases (see `rmg_core.intake`).
    """

    location: str
    data: Any
    #: At least as many levels as ``data`` nests, when the source knows it cheaply (the brackets in a JSON
    #: line): `case_from_mapping` then skips walking the trace to check `MAX_NESTING`.
    nesting: Optional[int] = None


class CaseError(BaseModel):
    """A trace (or a line of a file) a source could not turn into an `EvalCase`.

    It is counted and reported; the rest of the batch goes on.
    """

    location: str
    message: str
    trace_id: Optional[str] = None

    def __str__(self) -> str:
        who = f" (trace {self.trace_id})" if self.trace_id else ""
        return f"{self.location}{who}: {self.message}"


def _maybe_json(value: Any) -> Any:
    """Parse a string that holds a JSON object or array; leave anything else as is.

    A string that only looks like JSON stays a string, and so does one that
    nests too deeply to be anything but text (``"[[[[..."`` written by a user).
    """
    # The common case, plain text, decided without copying it (strip() would).
    if isinstance(value, str) and value and (value[0] in "{[" or value[0].isspace()):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                parsed = json.loads(stripped)
            except (ValueError, RecursionError):
                return value
            return value if too_deep(parsed) else parsed
    return value


def case_from_mapping(obj: Mapping[str, Any], *, location: str, reference_keys: Sequence[str] = DEFAULT_REFERENCE_KEYS,
                      parse_json_strings: bool = True, nesting: Optional[int] = None) -> EvalCase | CaseError:
    """Build an `EvalCase` from a trace in the seed's shape or a Langfuse trace export.

    Accepted: ``id``, ``input``, ``output``, ``expected`` (or ``expected_output``
    / ``reference``), ``metadata``, ``timestamp``, ``observation_id``.  When no
    expected output is given at the top level it is looked up in metadata under
    ``reference_keys`` in order.  Input and output that arrive as JSON strings
    (as Langfuse stores them) are parsed.  A list of chat messages is a trace
    of its own (``{"messages": [...]}``).  The case keeps ``obj`` as
    ``EvalCase.trace``.  Problems come back as a `CaseError` naming
    ``location`` and the field; so does a trace nested more than `MAX_NESTING` levels
    (``nesting``: a bound of ``obj``'s depth the caller knows, which spares walking it).
    """
    trace: Any = obj
    if isinstance(obj, list) and obj and all(isinstance(m, Mapping) and "role" in m for m in obj):
        trace = obj = {"messages": obj}
    if type(obj) is not dict and not isinstance(obj, Mapping):  # typing's isinstance costs a Python call
        hint = ""
        if isinstance(obj, list):
            hint = ("; a whole JSON array of traces is read from a .json file "
                    "(rename the file, or set format = \"json\")")
        return CaseError(
            location=location,
            message=f"expected a JSON object for a trace, got {type(obj).__name__}{hint}",
        )
    data = dict(obj)
    if (nesting is None or nesting > MAX_NESTING) and too_deep(obj, MAX_NESTING + 1):
        return CaseError(location=location, message=f"the trace nests lists/objects more than {MAX_NESTING} "
                         "levels deep; it was skipped", trace_id=_short_id(data.get("id")))
    if data.get("expected") is None:
        for key in ("expected_output", "reference"):
            if data.get(key) is not None:
                data["expected"] = data[key]
                break
    if parse_json_strings:
        for key in ("input", "output", "expected"):
            data[key] = _maybe_json(data.get(key))
    if "observation_id" not in data and "observationId" in data:
        data["observation_id"] = data["observationId"]
    raw_id = data.get("id")
    try:
        case = (_plain_case(data) if _plain_case_matches() else None) or EvalCase.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        hint = " (every trace needs a non-empty \"id\" so its scores can be written exactly once)"
        return CaseError(
            location=location,
            message=problems + (hint if any(e["loc"][:1] == ("id",) for e in exc.errors()) else ""),
            trace_id=_short_id(raw_id),
        )
    if case.expected is None and reference_keys:
        for key in reference_keys:
            value = case.metadata.get(key)
            if value is not None:
                case.expected = _maybe_json(value) if parse_json_strings else value
                break
    case.__pydantic_private__["_trace"] = trace  # case._trace = trace, without pydantic's __setattr__ (a Python call)
    return case


M = TypeVar("M", bound=BaseModel)


def restored(cls: type[M], fields: dict[str, Any], fields_set: set[str], private: Optional[dict[str, Any]] = None) -> M:
    """A model with these field values, as pydantic's ``__setstate__`` restores a pickled one.

    No validation: ~10x cheaper than building it.
    """
    model, set_ = object.__new__(cls), object.__setattr__
    set_(model, "__dict__", fields)
    set_(model, "__pydantic_extra__", None)
    set_(model, "__pydantic_fields_set__", fields_set)
    set_(model, "__pydantic_private__", private)
    return model


def builds_as_validated(build: Callable[[dict[str, Any]], Optional[BaseModel]], *probes: dict[str, Any]) -> bool:
    """Whether ``build`` gives for each probe what pydantic's validation does (state and repr).

    Checked once per process: a pydantic release that changes its models'
    state then costs speed, never a different object.
    """
    try:
        for probe in probes:
            fast = build(dict(probe))
            if fast is None:
                return False
            slow = type(fast).model_validate(probe)
            if slow.__getstate__() != fast.__getstate__() or repr(slow) != repr(fast):
                return False
        return True
    except Exception:
        return False


#: An ISO 8601 time that Python and pydantic read alike (pydantic refuses "+00:60", Python does not).
_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"
)
_FIELDS, _STR = set(EvalCase.model_fields), {str}
_ZONES: dict[Any, Any] = {None: timezone.utc}  # Python's time zone -> pydantic's (naive is UTC, as `_aware` says)


def _plain_case(data: dict[str, Any]) -> Optional[EvalCase]:
    """``EvalCase.model_validate(data)`` without pydantic when every field has its plain type.

    A run builds one case per trace, and validating costs ~10 µs.  Returns
    ``None`` otherwise, for pydantic to convert or refuse with its messages.
    """
    get = data.get
    case_id, meta, stamp = get("id"), get("metadata"), get("timestamp")
    observation, running = get("observation_id"), get("running", False)
    plain = (
        type(case_id) is str and case_id != ""
        and (observation is None or type(observation) is str)
        and get("ended_at") is None and type(running) is bool
        and (stamp is None or (type(stamp) is str and _STAMP.fullmatch(stamp) is not None))
        and (meta is None or (type(meta) is dict and (not meta or set(map(type, meta)) == _STR)))
    )
    if not plain:
        return None
    if stamp is not None:
        try:
            stamp = datetime.fromisoformat(stamp)
        except ValueError:  # e.g. February 30th
            return None
        zone = _ZONES.get(stamp.tzinfo)
        if zone is None:
            zone = _ZONES.setdefault(stamp.tzinfo, TzInfo(int(stamp.utcoffset().total_seconds())))
        # Positional arguments: replace(tzinfo=...) costs ~9,000 instructions, its keywords looked up by C string.
        stamp = datetime(stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second, stamp.microsecond, zone)
    fields = {
        "id": case_id, "input": get("input"), "output": get("output"), "expected": get("expected"),
        "metadata": {} if meta is None else dict(meta), "timestamp": stamp, "observation_id": observation,
        "ended_at": None, "running": running,
    }
    return restored(EvalCase, fields, _FIELDS.intersection(data), {"_trace": None})


_PROBES = (
    {"id": "u", "expected": {"x": None}, "timestamp": "2025-03-03T08:22:52Z", "observation_id": "o"},
    {"id": "t", "input": [{"role": "user", "content": "q"}], "metadata": {"k": [1]},
     "timestamp": "2025-03-03T08:22:52.093+05:30", "running": True, "other": 1},
)
_plain_case_matches = functools.cache(lambda: builds_as_validated(_plain_case, *_PROBES))


def _short_id(raw_id: Any) -> Optional[str]:
    return str(raw_id)[:200] if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and raw_id != "" else None
