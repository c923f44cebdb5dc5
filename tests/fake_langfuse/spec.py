"""Validation of requests and responses against the official Langfuse OpenAPI spec.

The spec (``shared/langfuse/openapi.yml``, see its ``SOURCE.md``) is loaded once
per process with openapi-core and shared by every fake server.  openapi-core
re-walks the spec on every call (path lookup, one schema validator built per
parameter), which cost 5-12 ms per request here.  These caches bring that
down without changing what is checked:

* the operation found for ``(method, path pattern)`` is kept;
* the jsonschema validator built for a schema is kept (openapi-core builds a
  new one, with a deep copy of its format checker, on every call);
* the outcome of validating a request *without a body* is kept under an
  equivalence key: the values of query parameters whose schema is a plain,
  unconstrained string are replaced by a placeholder, because any non-empty
  string validates the same way; every other value (integers, booleans,
  dates, arrays, empty strings) stays in the key as sent;
* score-batch elements and the items of list responses (``{data: [...]}``)
  are validated one by one against their component schema, and a *shape*
  seen valid before (`SpecValidator._shape_function`: JSON types, format
  verdicts, enum values, derived from the schema) is not validated again.
  Anything invalid is always validated in full, so messages name the value.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator, Mapping, Optional, Sequence

#: Where the spec lives relative to the repository (``/work/main``) or the
#: workspace (``/work``); ``RMG_LANGFUSE_OPENAPI`` overrides both.
SPEC_ENV = "RMG_LANGFUSE_OPENAPI"
#: How to get the document, for skip reasons and errors.
SPEC_HOW = (
    "download it from https://github.com/langfuse/langfuse/blob/main/web/public/generated/api/openapi.yml, "
    "or from your server's /generated/api/openapi.yml"
)
_HOST_URL = "http://127.0.0.1"
#: Schema keywords that do not change what validates (``nullable`` is keyed by the None type).
_ANNOTATIONS = {"description", "title", "nullable", "example", "examples", "deprecated", "readOnly", "writeOnly"}


def _json_type(value: Any) -> Hashable:
    return ("t", type(value).__name__)


def spec_path() -> Path:
    """The OpenAPI file: ``$RMG_LANGFUSE_OPENAPI`` or ``shared/langfuse/openapi.yml`` beside the repo."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[2]
    candidates = [
        repo.parent / "shared" / "langfuse" / "openapi.yml",
        repo / "shared" / "langfuse" / "openapi.yml",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "Langfuse OpenAPI spec not found; looked at "
        + ", ".join(str(c) for c in candidates)
        + f". Set {SPEC_ENV} to the path of openapi.yml ({SPEC_HOW})."
    )


@dataclass(frozen=True)
class Violation:
    """One request or response that does not follow the spec (or that the fake cannot serve).

    ``kind`` is ``"request"``, ``"response"``, ``"unsupported"`` (a spec-valid
    request the fake does not implement, so a test relying on it would be
    wrong) or ``"internal"`` (the fake itself failed; it answered 500).
    """

    kind: str
    method: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.method} {self.path}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "method": self.method, "path": self.path, "message": self.message}


class _Request:
    """The openapi-core request protocol over an already parsed HTTP request."""

    def __init__(
        self,
        method: str,
        path: str,
        path_pattern: Optional[str],
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: Optional[bytes],
        content_type: str,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = _HOST_URL
        self.method = method.lower()
        self.path = path
        self.path_pattern = path_pattern
        self.body = body or b""
        self.content_type = content_type
        self.parameters = RequestParameters(
            path=dict(path_params),
            query=ImmutableMultiDict(list(query)),
            header=Headers(dict(headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.data = body
        self.content_type = content_type
        self.headers = Headers(dict(headers))


def _caching_classes() -> tuple[type, type]:
    """openapi-core 3.0 validators with the path and schema-validator caches."""
    from openapi_core.casting.schemas import (
        oas30_read_schema_casters_factory,
        oas30_write_schema_casters_factory,
    )
    from openapi_core.casting.schemas.factories import SchemaCastersFactory
    from openapi_core.validation.request.validators import V30RequestValidator
    from openapi_core.validation.response.validators import V30ResponseValidator
    from openapi_core.validation.schemas import (
        oas30_read_schema_validators_factory,
        oas30_write_schema_validators_factory,
    )
    from openapi_core.validation.schemas.factories import SchemaValidatorsFactory

    class CachingSchemaValidatorsFactory(SchemaValidatorsFactory):
        """Builds each schema's validator once; a built validator holds no per-call state."""

        def __init__(self, inner: SchemaValidatorsFactory) -> None:
            super().__init__(inner.schema_validator_cls, inner.format_checker)
            self._cache: dict[tuple, Any] = {}
            self._lock = threading.Lock()

        def create(  # type: ignore[override]
            self,
            spec: Any,
            schema: Any,
            format_validators: Any = None,
            extra_format_validators: Any = None,
            forbid_unspecified_additional_properties: bool = False,
            enforce_properties_required: bool = False,
        ) -> Any:
            if format_validators is not None or extra_format_validators is not None:
                return super().create(
                    spec, schema, format_validators, extra_format_validators,
                    forbid_unspecified_additional_properties, enforce_properties_required,
                )
            key = (tuple(schema.parts), forbid_unspecified_additional_properties, enforce_properties_required)
            validator = self._cache.get(key)
            if validator is None:
                with self._lock:
                    validator = self._cache.get(key)
                    if validator is None:
                        validator = super().create(
                            spec, schema, None, None,
                            forbid_unspecified_additional_properties, enforce_properties_required,
                        )
                        self._cache[key] = validator
            return validator

    write = CachingSchemaValidatorsFactory(oas30_write_schema_validators_factory)
    read = CachingSchemaValidatorsFactory(oas30_read_schema_validators_factory)

    class _PathCache:
        def _find_path(self, request: Any) -> Any:
            key = (request.method, getattr(request, "path_pattern", None) or request.path)
            cache = self.__dict__.setdefault("_path_cache", {})
            found = cache.get(key)
            if found is None:
                found = super()._find_path(request)  # type: ignore[misc]
                cache[key] = found
            return found

    class RequestValidator(_PathCache, V30RequestValidator):
        schema_validators_factory = write
        schema_casters_factory = SchemaCastersFactory(write, oas30_write_schema_casters_factory.types_caster)

    class ResponseValidator(_PathCache, V30ResponseValidator):
        schema_validators_factory = read
        schema_casters_factory = SchemaCastersFactory(read, oas30_read_schema_casters_factory.types_caster)

    return RequestValidator, ResponseValidator


def _format_schema_error(err: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in getattr(err, "absolute_path", ()))
    message = getattr(err, "message", None) or str(err)
    return f"at body{path}: {message}" if path else message


def describe_error(exc: BaseException) -> str:
    """A one-line message for an openapi-core error, with the schema errors behind it."""
    parts = [f"{type(exc).__name__}: {exc}"]
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        schema_errors = getattr(current, "schema_errors", None)
        if schema_errors:
            details = "; ".join(_format_schema_error(e) for e in list(schema_errors)[:5])
            parts = [f"{type(exc).__name__}: {details}"]
            break
        cause = current.__cause__ or current.__context__
        if cause is not None and str(cause) and str(cause) not in parts[-1]:
            parts.append(f"{type(cause).__name__}: {cause}")
        current = cause
    text = " <- ".join(parts)
    return text if len(text) <= 2000 else text[:1997] + "..."


class SpecValidator:
    """Validates the fake's traffic with openapi-core; one instance per process."""

    def __init__(self, path: Optional[Path] = None) -> None:
        from openapi_core import Config, OpenAPI

        self.path = path or spec_path()
        request_cls, response_cls = _caching_classes()
        self.api = OpenAPI.from_file_path(
            str(self.path),
            config=Config(
                spec_validator_cls=None,
                request_validator_cls=request_cls,
                response_validator_cls=response_cls,
            ),
        )
        # The dict openapi-core parsed (with libyaml); parsing again in pure Python took 2 s.
        self.document: dict[str, Any] = self.api.spec.read_value()
        self._free_string_params = self._find_free_string_params()
        self._request_memo: "OrderedDict[tuple, tuple[str, ...]]" = OrderedDict()
        self._memo_lock = threading.Lock()
        self._memo_size = 4096
        self._body_validators: dict[tuple[str, str], Any] = {}
        self._list_items = self._find_list_responses()

    # -- what the spec says -------------------------------------------------
    def _find_free_string_params(self) -> dict[tuple[str, str], frozenset[str]]:
        constraining = {"format", "enum", "pattern", "minLength", "maxLength", "$ref", "allOf", "oneOf", "anyOf"}
        result: dict[tuple[str, str], frozenset[str]] = {}
        for pattern, item in self.document.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                names = set()
                for param in op.get("parameters", []) + item.get("parameters", []):
                    schema = param.get("schema") or {}
                    if param.get("in") == "query" and schema.get("type") == "string" and not constraining & set(schema):
                        names.add(param["name"])
                result[(method.lower(), pattern)] = frozenset(names)
        return result

    def _find_list_responses(self) -> dict[tuple[str, str], str]:
        """Operations whose 200 body is ``{data: [<$ref Item>], ...}`` with no array constraints: (method, pattern) -> Item."""
        found = {}
        for pattern, item in self.document.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict):
                    continue
                schema = (op.get("responses", {}).get("200", {}).get("content", {})
                          .get("application/json", {}).get("schema"))
                if not schema:
                    continue
                body = self._resolve(schema)
                data = body.get("properties", {}).get("data", {})
                ref = data.get("items", {}).get("$ref", "")
                if (body.get("type") == "object" and set(data) - _ANNOTATIONS == {"type", "items"}
                        and data.get("type") == "array" and set(data["items"]) == {"$ref"}
                        and ref.startswith("#/components/schemas/")):
                    found[(method.lower(), pattern)] = ref.rsplit("/", 1)[1]
        return found

    def declared_statuses(self, method: str, path_pattern: str) -> frozenset[int]:
        """The response codes the spec declares for an operation."""
        op = self.document["paths"].get(path_pattern, {}).get(method.lower(), {})
        return frozenset(int(code) for code in op.get("responses", {}) if str(code).isdigit())

    def schema_errors(self, schema_name: str, value: Any, *, direction: str = "write") -> list[str]:
        """Errors of ``value`` against ``components.schemas[schema_name]``, as openapi-core checks a request body.

        A value whose validation shape (`_shape_function`) was seen valid
        before is valid without running the validator again; failures are
        always re-validated so their messages name this value.
        """
        entry = self._body_validators.get((schema_name, direction))
        if entry is None:
            from openapi_core.validation.schemas import (
                oas30_read_schema_validators_factory,
                oas30_write_schema_validators_factory,
            )

            factory = oas30_read_schema_validators_factory if direction == "read" else oas30_write_schema_validators_factory
            schema = self.api.spec / "components" / "schemas" / schema_name
            validator = factory.create(self.api.spec, schema)
            shape = self._shape_function(self.document["components"]["schemas"][schema_name],
                                         validator.validator.format_checker)
            entry = self._body_validators[(schema_name, direction)] = (validator, shape, set())
        validator, shape, valid_shapes = entry
        key = shape(value)
        if key in valid_shapes:
            return []
        try:
            validator.validate(value)
        except Exception as exc:  # openapi-core raises InvalidSchemaValue with the jsonschema errors
            return [describe_error(exc)]
        if len(valid_shapes) < 10_000:
            valid_shapes.add(key)
        return []

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def _shape_function(self, schema: dict[str, Any], checker: Any, depth: int = 0) -> Callable[[Any], Hashable]:
        """A key of a value such that values with equal keys validate alike against ``schema``.

        Derived from the schema: where it constrains only the JSON type (plain
        strings, doubles, free objects, untyped values, ``oneOf`` of such),
        the key is the value's type; where it adds a ``format``, the key adds
        the verdict of the very format checker the validator uses; enums key
        on the value; ``oneOf`` keys on every branch's key; object properties,
        map values and array items are keyed one by one; anything else keys on
        the whole value.
        """
        exact: Callable[[Any], Hashable] = lambda v: ("v", json.dumps(v, sort_keys=True, default=str))  # noqa: E731
        if depth > 8:
            return exact
        schema = self._resolve(schema)
        keys = set(schema) - _ANNOTATIONS
        kind = schema.get("type")
        if not keys:
            return _json_type
        if keys == {"type"} and kind in ("string", "boolean", "object", "array"):
            return _json_type if kind != "array" else exact
        if keys == {"type"} and kind in ("number", "integer"):
            return _json_type
        if keys == {"type", "format"} and kind in ("string", "number", "integer"):
            fmt = schema["format"]
            return lambda v: ("f", type(v).__name__, checker.conforms(v, fmt))
        if kind == "array" and keys == {"type", "items"}:
            item = self._shape_function(schema["items"], checker, depth + 1)
            return lambda v: ("a", tuple(item(x) for x in v)) if isinstance(v, list) else _json_type(v)
        if kind == "object" and keys == {"type", "additionalProperties"} and isinstance(schema["additionalProperties"], dict):
            value_shape = self._shape_function(schema["additionalProperties"], checker, depth + 1)
            return lambda v: (("m", tuple(sorted((k, value_shape(x)) for k, x in v.items())))
                              if isinstance(v, dict) else _json_type(v))
        if keys <= {"type", "enum"} and "enum" in keys:
            return lambda v: ("e", v if isinstance(v, (str, int, float, bool, type(None))) else exact(v))
        if keys == {"oneOf"} or keys == {"anyOf"}:
            # Values keyed alike by every branch validate alike against each, so against the union.
            branches = [self._shape_function(b, checker, depth + 1) for b in schema[next(iter(keys))]]
            if all(b is _json_type for b in branches):
                return _json_type
            return lambda v: ("u", tuple(b(v) for b in branches))
        if kind == "object" and keys <= {"type", "additionalProperties"} and schema.get("additionalProperties", True) is True:
            return _json_type
        if kind == "object" and keys <= {"type", "properties", "required", "additionalProperties"} \
                and schema.get("additionalProperties", True) is True:
            props = {name: self._shape_function(sub, checker, depth + 1)
                     for name, sub in schema.get("properties", {}).items()}

            def object_shape(v: Any) -> Hashable:
                if not isinstance(v, dict):
                    return _json_type(v)
                # Undeclared properties are allowed with any value: only their names count.
                return ("o", tuple(sorted((k, props[k](x) if k in props else None) for k, x in v.items())))

            return object_shape
        return exact

    # -- validation ----------------------------------------------------------
    def _memo_key(self, req: _Request, headers: Mapping[str, str]) -> Optional[tuple]:
        if req.body:
            return None
        free = self._free_string_params.get((req.method, req.path_pattern or ""))
        if free is None:
            return None
        query = tuple(
            (name, "\x00" if name in free and value != "" else value)
            for name, value in req.parameters.query.items(multi=True)
        )
        auth = headers.get("authorization") or headers.get("Authorization") or ""
        # The security check looks at the scheme and at whether credentials are there.
        scheme, _, creds = auth.partition(" ")
        return (req.method, req.path_pattern, tuple(sorted(query)), scheme.lower(), bool(creds), req.content_type)

    def validate_request(
        self,
        *,
        method: str,
        path: str,
        path_pattern: Optional[str],
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: Optional[bytes],
        content_type: str,
        skip_body: bool = False,
    ) -> list[str]:
        """Error messages for a request; empty when it follows the spec.

        ``skip_body`` validates only path, query and security (for bodies the
        caller checks itself, e.g. the array dialect of ``POST /scores``).
        """
        req = _Request(method, path, path_pattern, path_params, query, headers,
                       None if skip_body else body, content_type)
        key = self._memo_key(req, headers)
        if key is not None:
            with self._memo_lock:
                hit = self._request_memo.get(key)
                if hit is not None:
                    self._request_memo.move_to_end(key)
                    return list(hit)
        if skip_body:
            errors = self._iter_without_body(req)
        else:
            errors = self.api.iter_request_errors(req)
        messages = tuple(describe_error(e) for e in errors)
        if key is not None:
            with self._memo_lock:
                self._request_memo[key] = messages
                if len(self._request_memo) > self._memo_size:
                    self._request_memo.popitem(last=False)
        return list(messages)

    def _iter_without_body(self, req: _Request) -> Iterator[Exception]:
        from openapi_core.templating.paths.exceptions import PathError

        validator = self.api.request_validator
        try:
            path_spec, operation, _, path_result, _ = validator._find_path(req)
        except PathError as exc:
            yield exc
            return
        # Same order as openapi-core's request validation, body left out.
        security_errors = list(validator._iter_security_errors(req, operation))
        if security_errors:
            yield from security_errors
            return
        req.parameters.path = req.parameters.path or path_result.variables
        yield from validator._iter_parameters_errors(req, operation, path_spec)

    def validate_response(
        self,
        *,
        method: str,
        path: str,
        path_pattern: Optional[str],
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        status: int,
        body: bytes,
        content_type: str,
        response_headers: Mapping[str, str],
    ) -> list[str]:
        """Error messages for a response; empty when it follows the spec.

        A 200 list body (``{data: [items], ...}``) is checked in two parts that
        together are the same check: the envelope with ``data`` emptied, by
        openapi-core, and each item against the item schema with the shape
        memo of `schema_errors` (a 50-item page cost 12 ms in one piece).
        """
        item_schema = self._list_items.get((method.lower(), path_pattern or "")) if status == 200 else None
        items: Optional[list[Any]] = None
        if item_schema is not None:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("data"), list):
                items = parsed["data"]
                body = json.dumps({**parsed, "data": []}).encode()
        req = _Request(method, path, path_pattern, path_params, query, headers, None, "application/json")
        resp = _Response(status, body, content_type, response_headers)
        errors = [describe_error(e) for e in self.api.iter_response_errors(req, resp)]
        for i, item in enumerate(items or ()):
            errors += [f"data[{i}]: {m}" for m in self.schema_errors(item_schema, item, direction="read")]  # type: ignore[arg-type]
        return errors


_shared: Optional[SpecValidator] = None
_shared_lock = threading.Lock()


def spec_available() -> bool:
    """Whether the OpenAPI document can be found (`spec_path`)."""
    try:
        spec_path()
    except FileNotFoundError:
        return False
    return True


def optional_validator() -> Optional[SpecValidator]:
    """The process-wide validator, or None when the OpenAPI document is not available (a fresh clone)."""
    return shared_validator() if spec_available() else None


def shared_validator() -> SpecValidator:
    """The process-wide validator (loading the 500 kB spec takes about a second)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = SpecValidator()
    return _shared

