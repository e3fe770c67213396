"""JSON Schema (Draft 2020-12) for a ``faust.Record``, derived from its fields.

Department systems validate what they read against schema files, in whatever
language they are written in; generating the files from the records keeps the
published contract and the code from drifting apart (``creditwatch schemas
--check`` fails when they do).

The schema describes the wire form that ``Record.dumps()`` produces with
``include_metadata=False``: enums as their values, datetimes as ISO 8601
strings, nested records as objects (shared through ``$defs``). Unknown
properties are allowed, because the contracts let producers add fields before
consumers use them.

Which fields are required: faust cannot tell a nullable field declared without
a default (always written, may be null) from one declared ``= None`` (added
later with a default, so older messages may lack it). Faust forbids a field
without a default after one with a default, so the defaulted fields are the
tail after the last field faust requires; every field before that tail is
required, nullable or not.
"""

from __future__ import annotations

import inspect
import types
from datetime import date, datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin

import faust

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_SCALARS: dict[type, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bytes: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def record_schema(
    record: type[faust.Record], *, title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """A standalone schema for ``record``: nested records go to ``$defs``."""
    defs: dict[str, dict[str, Any]] = {}
    body = _object_schema(record, defs)
    summary = body.pop("description")
    del body["title"]
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": title or record.__name__,
        "description": description or summary,
        **body,
    }
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def required_fields(record: type[faust.Record]) -> list[str]:
    """The fields every message carries (see the module docstring for the rule)."""
    names = list(record._options.fields)
    descriptors = record._options.descriptors
    last_required = max(
        (i for i, name in enumerate(names) if descriptors[name].required), default=-1
    )
    return names[: last_required + 1]


def _object_schema(record: type[faust.Record], defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    properties = {name: _type_schema(typ, defs) for name, typ in record._options.fields.items()}
    schema: dict[str, Any] = {
        "title": record.__name__,
        "description": _summary(record),
        "type": "object",
        "properties": properties,
    }
    required = required_fields(record)
    if required:
        schema["required"] = required
    return schema


def _summary(record: type[faust.Record]) -> str:
    """The docstring's first paragraph, on one line, with Markdown rather than RST quotes."""
    doc = inspect.getdoc(record) or ""
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")


def _type_schema(typ: Any, defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    origin = get_origin(typ)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(typ) if arg is not type(None)]
        inner = (
            _type_schema(members[0], defs)
            if len(members) == 1
            else {"anyOf": [_type_schema(m, defs) for m in members]}
        )
        return _nullable(inner) if len(members) < len(get_args(typ)) else inner
    if origin in (list, tuple, set, frozenset):
        item_types = [arg for arg in get_args(typ) if arg is not Ellipsis]
        items = _type_schema(item_types[0], defs) if item_types else {}
        return {"type": "array", "items": items}
    if origin is dict:
        key_value = get_args(typ)
        values = _type_schema(key_value[1], defs) if key_value else {}
        return {"type": "object", "additionalProperties": values}
    if typ is Any or typ is object:
        return {}
    if inspect.isclass(typ) and issubclass(typ, Enum):
        return _enum_schema(typ)
    if inspect.isclass(typ) and issubclass(typ, faust.Record):
        if typ.__name__ not in defs:
            defs[typ.__name__] = {}  # placeholder: a record may refer to itself
            defs[typ.__name__] = _object_schema(typ, defs)
        return {"$ref": f"#/$defs/{typ.__name__}"}
    if typ in _SCALARS:
        return dict(_SCALARS[typ])
    raise TypeError(f"no JSON Schema mapping for field type {typ!r}")


def _enum_schema(enum: type[Enum]) -> dict[str, Any]:
    values = [member.value for member in enum]
    kinds = {type(value) for value in values}
    schema: dict[str, Any] = {"enum": values}
    if kinds == {str}:
        schema = {"type": "string", **schema}
    elif kinds <= {int}:
        schema = {"type": "integer", **schema}
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, written the simplest way a reader can follow."""
    if isinstance(schema.get("type"), str) and "$ref" not in schema:
        nullable = {**schema, "type": [schema["type"], "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    return {"anyOf": [schema, {"type": "null"}]}
