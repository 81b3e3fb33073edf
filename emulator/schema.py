"""Request validation against LINE's official messaging-api.yml. The validators are built once per process:
building openapi-core from the 6,000-line spec takes ~0.4 s, while checking one request then takes well under
a millisecond."""
from __future__ import annotations

import functools
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# LINE's OpenAPI files, vendored unmodified (see line_openapi/VENDORED.md) so a fresh clone works by itself.
VENDORED_OPENAPI = Path(__file__).resolve().parent / "line_openapi" / "messaging-api.yml"
# The spec lists two hosts (api.line.me, api-data.line.me); the emulator serves both on one origin.
_HOST = "http://emulator.invalid"
_REQUIRED = re.compile(r"^'(.+)' is a required property")

try:  # the C loader parses the 6,000-line spec several times faster
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def default_openapi_path() -> Path:
    """KYODO_LINE_OPENAPI (file or folder) if set, else the vendored emulator/line_openapi/messaging-api.yml."""
    env = os.environ.get("KYODO_LINE_OPENAPI")
    path = Path(env) if env else VENDORED_OPENAPI
    return path / "messaging-api.yml" if path.is_dir() else path


def webhook_openapi_path(messaging_path: str | os.PathLike | None = None) -> Path:
    """webhook.yml sits next to messaging-api.yml in LINE's repository."""
    return Path(messaging_path or default_openapi_path()).with_name("webhook.yml")


@functools.lru_cache(maxsize=4)
def load_spec_dict(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)


_build_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _build(path: str) -> OpenAPI:
    spec = load_spec_dict(path)
    # Copy only what we change: drop per-path/per-operation servers so every path resolves on one host.
    paths = {}
    for name, item in spec["paths"].items():
        item = {k: ({kk: vv for kk, vv in v.items() if kk != "servers"} if isinstance(v, dict) else v)
                for k, v in item.items() if k != "servers"}
        paths[name] = item
    return OpenAPI.from_dict({**spec, "servers": [{"url": _HOST}], "paths": paths})


def build_openapi(path: str | os.PathLike | None = None) -> OpenAPI:
    with _build_lock:
        return _build(str(path or default_openapi_path()))


class _Request:
    """The minimal openapi-core Request protocol, fed straight from the WSGI request."""

    host_url = _HOST

    def __init__(self, method: str, path: str, body: bytes | None, content_type: str, headers: Any,
                 query: Any = None) -> None:
        self.method = method.lower()
        self.path = path
        self.body = body if body else None
        self.content_type = (content_type or "").lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query or {}), header=Headers(headers),
                                            cookie=ImmutableMultiDict())

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


class SpecValidator:
    """openapi-core finds the operation and validates everything; for the hot JSON endpoints (reply, push, ...)
    the body and header checks run on validators compiled once from the same spec, which is ~4x faster than
    openapi-core's per-request reference resolution and matters for the 5,000-reply benchmark."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path or default_openapi_path())
        self.openapi = build_openapi(self.path)
        self.spec = load_spec_dict(str(self.path))
        finder = self.openapi.request_validator.path_finder
        # The same URL always resolves to the same operation; the uncached lookup scans ~70 path templates.
        # (The OpenAPI object is shared by every emulator in the process, so wrap it only once.)
        if not hasattr(finder.find, "cache_info"):
            finder.find = functools.lru_cache(maxsize=2048)(finder.find)
        self._find = finder.find
        self._fast: dict[tuple[str, str], _FastOperation | None] = {}
        self._registry = None

    def validate(self, method: str, path: str, body: bytes | None, content_type: str, headers: Any,
                 query: Any = None) -> tuple[int, dict] | None:
        """None if the request conforms; else (status, LINE-shaped error body)."""
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

        try:
            found = self._find(method.lower(), _HOST + path)
        except PathNotFound:
            return 404, {"message": "Not found"}
        except OperationNotFound:
            return 405, {"message": "Method not allowed"}
        except Exception:  # ServerNotFound and friends: let the full validator report it
            found = None
        fast = self._fast_operation(found.path_result.pattern, method.lower()) if found is not None else None
        if fast is not None:
            return fast.validate(body, content_type, headers)
        return self._validate_full(method, path, body, content_type, headers, query)

    def _fast_operation(self, template: str, method: str) -> "_FastOperation | None":
        key = (template, method)
        if key not in self._fast:
            self._fast[key] = _FastOperation.build(self, template, method)
        return self._fast[key]

    def schema_validator(self, schema: dict) -> Any:
        from openapi_schema_validator import OAS30Validator, oas30_format_checker
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        if self._registry is None:
            self._registry = Registry().with_resource(_SPEC_URI, Resource.from_contents(
                self.spec, default_specification=DRAFT4))
        return OAS30Validator(_rebase(schema), registry=self._registry, format_checker=oas30_format_checker)

    def _validate_full(self, method: str, path: str, body: bytes | None, content_type: str, headers: Any,
                       query: Any) -> tuple[int, dict] | None:
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
        from openapi_core.validation.request.exceptions import (
            InvalidParameter, MissingRequiredParameter, MissingRequiredRequestBody, RequestBodyValidationError,
            SecurityValidationError)

        req = _Request(method, path, body, content_type, headers, query)
        try:
            self.openapi.validate_request(req)
        except PathNotFound:
            return 404, {"message": "Not found"}
        except OperationNotFound:
            return 405, {"message": "Method not allowed"}
        except SecurityValidationError:
            return 401, {"message": "Authentication failed. Confirm that the access token in the authorization "
                                    "header is valid."}
        except (InvalidParameter, MissingRequiredParameter) as exc:
            return 400, _parameter_error(getattr(exc, "name", "parameter"), getattr(exc, "location", ""))
        except MissingRequiredRequestBody:
            return 400, _EMPTY_BODY
        except RequestBodyValidationError as exc:
            errors = getattr(exc.__cause__, "schema_errors", None)
            if not errors:
                if "json" not in (content_type or "").lower():
                    return 415, _UNSUPPORTED
                return 400, _NOT_JSON
            return 400, error_body([_detail(e) for e in errors])
        except Exception as exc:  # openapi-core has a wide exception tree; any other failure is a bad request
            return 400, {"message": f"Invalid request: {type(exc).__name__}"}
        return None


_SPEC_URI = "urn:line:messaging-api"
_EMPTY_BODY = {"message": "The request body has 1 error(s)",
               "details": [{"message": "must be specified", "property": ""}]}
_UNSUPPORTED = {"message": "Unsupported Media Type; use application/json"}
_NOT_JSON = {"message": "The request body could not be parsed as JSON"}


def _parameter_error(name: str, location: str) -> dict:
    return {"message": f"The value for the '{name}' {location} is invalid".replace("  ", " ")}


def _rebase(node: Any) -> Any:
    """Point local $refs at the registered spec document."""
    if isinstance(node, dict):
        return {k: (_SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


class _FastOperation:
    """A JSON-body operation whose only parameters are simple header/path strings."""

    def __init__(self, body_validator: Any, body_required: bool, headers: list[tuple[str, bool, Any]]) -> None:
        self.body_validator = body_validator
        self.body_required = body_required
        self.headers = headers

    @classmethod
    def build(cls, owner: SpecValidator, template: str, method: str) -> "_FastOperation | None":
        item = owner.spec["paths"].get(template, {})
        op = item.get(method)
        if not isinstance(op, dict):
            return None
        body = op.get("requestBody")
        content = body.get("content", {}) if isinstance(body, dict) else {}
        if set(content) != {"application/json"} or "$ref" in body:
            return None
        headers = []
        for param in [*item.get("parameters", []), *op.get("parameters", [])]:
            if "$ref" in param or param.get("in") not in ("header", "path"):
                return None
            if param["in"] == "header":
                headers.append((param["name"], bool(param.get("required")),
                                owner.schema_validator(param.get("schema", {}))))
        return cls(owner.schema_validator(content["application/json"]["schema"]), bool(body.get("required")),
                   headers)

    def validate(self, body: bytes | None, content_type: str, headers: Any) -> tuple[int, dict] | None:
        for name, required, validator in self.headers:
            value = headers.get(name)
            if value is None:
                if required:
                    return 400, _parameter_error(name, "header")
            elif not validator.is_valid(value):
                return 400, _parameter_error(name, "header")
        if not body:
            return (400, _EMPTY_BODY) if self.body_required else None
        if (content_type or "").split(";")[0].strip().lower() != "application/json":
            return 415, _UNSUPPORTED
        try:
            data = json.loads(body)
        except ValueError:
            return 400, _NOT_JSON
        errors = list(self.body_validator.iter_errors(data))
        if errors:
            return 400, error_body([_detail(e) for e in errors])
        return None


def error_body(details: list[dict]) -> dict:
    return {"message": f"The request body has {len(details)} error(s)", "details": details}


def property_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _detail(err: Any) -> dict:
    prop = property_path(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    kind = err.validator
    if kind == "required":
        m = _REQUIRED.match(err.message)
        name = m.group(1) if m else ""
        return {"message": "must be specified", "property": f"{prop}.{name}" if prop else name}
    if kind in ("maxItems", "minItems"):
        msg = f"Size must be between {schema.get('minItems', 0)} and {schema.get('maxItems', 'unbounded')}"
    elif kind in ("maxLength", "minLength"):
        msg = f"Length must be between {schema.get('minLength', 0)} and {schema.get('maxLength', 'unbounded')}"
    elif kind == "type":
        msg = f"must be of type {err.validator_value}"
    elif kind == "enum":
        msg = f"must be one of {err.validator_value}"
    elif kind in ("maximum", "minimum"):
        msg = f"must be between {schema.get('minimum', '-inf')} and {schema.get('maximum', 'inf')}"
    else:
        msg = err.message if len(err.message) <= 200 else err.message[:200] + "…"
    return {"message": msg, "property": prop}
