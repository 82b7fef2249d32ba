#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a JSON document against a JSON Schema (draft 2020-12 or draft-07).

usage: validate-json.py [--strict] SCHEMA FILE

With --strict, every object the schema describes with "properties" and
without "additionalProperties" admits no key it does not name: the
published schema lets keys be added (consumers ignore what they do not
know) while the project's own documents, checked strictly, may hold no
key the schema lacks, so a misspelt or undocumented key is caught.

Exits 0 when FILE is valid; 1 when it is not, with one line per error on
standard error naming where it is ("$.outputs[0].planes[1].type") and
what is wrong; 2 when SCHEMA or FILE cannot be read or SCHEMA is not a
schema. Needs python3-jsonschema.
"""
import json
import sys

import jsonschema


def where(path):
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# Keywords whose value is a schema, a map of names to schemas, a list of schemas.
SCHEMA_KEYWORDS = {"items", "additionalProperties", "not", "if", "then", "else", "contains",
                   "propertyNames", "unevaluatedProperties", "unevaluatedItems"}
MAP_KEYWORDS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
LIST_KEYWORDS = {"allOf", "anyOf", "oneOf", "prefixItems"}


def closed(schema):
    """A copy of schema whose objects admit only the keys they name."""
    if not isinstance(schema, dict):
        return schema
    copy = dict(schema)
    for key, value in schema.items():
        if key in SCHEMA_KEYWORDS:
            copy[key] = closed(value)
        elif key in MAP_KEYWORDS and isinstance(value, dict):
            copy[key] = {name: closed(sub) for name, sub in value.items()}
        elif key in LIST_KEYWORDS and isinstance(value, list):
            copy[key] = [closed(sub) for sub in value]
    if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema:
        copy["additionalProperties"] = False
    return copy


def load(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"validate-json: cannot read the {what} {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    strict = len(argv) > 1 and argv[1] == "--strict"
    if strict:
        argv = argv[:1] + argv[2:]
    if len(argv) != 3:
        print("usage: validate-json.py [--strict] SCHEMA FILE", file=sys.stderr)
        return 2
    schema = load(argv[1], "schema")
    document = load(argv[2], "document")
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print(f"validate-json: {argv[1]} is not a JSON Schema: {e.message}", file=sys.stderr)
        return 2
    if strict:
        schema = closed(schema)
    errors = sorted(cls(schema).iter_errors(document), key=lambda e: where(e.absolute_path))
    for e in errors:
        print(f"{argv[2]}: {where(e.absolute_path)}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
