"""A fake Langfuse server for tests and benchmarks, checked against the langfuse SDK's models and the OpenAPI spec.

It serves, on 127.0.0.1, the part of the Langfuse public API that rmg and the
``langfuse`` Python SDK 5.0.4 use:

* ``GET /api/public/health``, ``GET /api/public/projects`` (the SDK's ``auth_check``);
* ``GET /api/public/v2/observations`` (cursor paging, ``fields`` groups,
  ``filter`` JSON and query filters; what ``Langfuse.run_batched_evaluation``
  reads) - every trace has a root observation carrying its input/output;
* ``GET /api/public/traces`` (page/limit) and ``GET /api/public/traces/{traceId}``;
* ``GET /api/public/v3/scores`` (cursor paging);
* ``POST /api/public/scores`` - scores upserted by id, with a write count per id;
* ``POST /api/public/otel/v1/traces`` - accepted and counted only.

Every request and every response is validated against the langfuse SDK's
own generated API models (`sdk_models`: an installed dependency, so always),
and in addition with openapi-core against the OpenAPI document when it is
available (``$RMG_LANGFUSE_OPENAPI``, or ``../shared/langfuse/openapi.yml``
beside the repository as CI has it; see `spec`).  Violations are recorded,
never raised, so a test sees them all (``FakeLangfuse.violations()``; the
``fake_langfuse`` fixture fails a test that leaves any).

The server has a clock (``FakeLangfuse.advance_clock``) and keys score rows
by (id, name, day) as Langfuse does; in the ``"object"`` dialect a score is
stamped with that clock (the spec's body has no timestamp), so the same id
written on another day is a second row.

Deviations from the spec, on purpose:

* ``POST /api/public/scores`` in the ``"array"`` dialect (the default) takes
  what SDK 5.x sends: a JSON array of scores, answered ``202 {"message":
  "Accepted"}`` or, when some are rejected, ``207 {"accepted": int,
  "rejected": int, "errors": [{"message": str}]}`` (the shape SDK 5.0.4's
  ``CreateScoreBatchResults`` parses).  The spec has no array form, so each
  element is validated against the spec's ``CreateScoreRequest`` schema and
  the 202/207 bodies against that SDK shape.  A single object is still
  accepted and answered ``200 {"id"}`` as the spec says (the batch endpoint
  is a superset; older SDKs send one object).  The ``"object"`` dialect is
  the spec alone: an array body is a request violation and a 400.
* Responses the spec does not describe and the fake sends deliberately are
  not validated against it: injected faults (429, 5xx, cut connections,
  outage 503), and 413 for a score body over 1 MiB.
* ``parentObservationId=`` (empty, documented to mean "no parent") is flagged
  by openapi-core because the parameter does not allow empty values; use
  ``isRootObservation=true`` to read root observations.
* v2 observation ``metadata`` values are strings (non-strings as JSON text)
  cut to 200 characters unless the key is in ``expandMetadata``, as the spec
  describes; ``input``/``output`` are raw strings (strings as stored, other
  JSON as its text).
"""

from .control import FakeLangfuseProcess
from .fake import FakeLangfuse
from .faults import FaultRule, Faults, FaultSettings
from .model import Observation, Trace
from .seed import SeedOptions, generate_traces
from .spec import Violation

__all__ = [
    "FakeLangfuse", "FakeLangfuseProcess", "FaultRule", "FaultSettings", "Faults", "Observation",
    "SeedOptions", "Trace", "Violation", "generate_traces",
]
