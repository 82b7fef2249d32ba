#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a JSON document against a JSON Schema (draft 2020-12 or draft-07).

usage: validate-json.py SCHEMA FILE

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


def load(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"validate-json: cannot read the {what} {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    if len(argv) != 3:
        print("usage: validate-json.py SCHEMA FILE", file=sys.stderr)
        return 2
    schema = load(argv[1], "schema")
    document = load(argv[2], "document")
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print(f"validate-json: {argv[1]} is not a JSON Schema: {e.message}", file=sys.stderr)
        return 2
    errors = sorted(cls(schema).iter_errors(document), key=lambda e: where(e.absolute_path))
    for e in errors:
        print(f"{argv[2]}: {where(e.absolute_path)}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
