#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The status schema and its validator can fail.

usage: test-validate-json.py VALIDATOR SCHEMA SAMPLE

The sample status document is valid; each change below (a required key
missing, a wrong type, a value outside an enum or pattern, a key the
schema does not know) makes the validator exit 1 in strict mode, as the
tests run it, naming where the document is wrong; an unreadable file
makes it exit 2.

The published schema is open: a key it does not know, added to every
object of the sample at once, validates without --strict (consumers keep
working when keys are added) and is refused with it at each place; a
missing or mistyped "version" is refused both ways.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile


def run(validator, schema, document, strict=True):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        if isinstance(document, str):
            f.write(document)
        else:
            json.dump(document, f)
        path = f.name
    try:
        args = [validator, "--strict", schema, path] if strict else [validator, schema, path]
        r = subprocess.run([sys.executable] + args,
                           capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    return r.returncode, r.stderr


def delete(doc, path):
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]


def put(doc, path, value):
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


def add_everywhere(doc, where="$"):
    """Adds a key the schema does not know to every object; returns their places."""
    places = []
    if isinstance(doc, dict):
        for key, value in list(doc.items()):
            places += add_everywhere(value, f"{where}.{key}")
        doc["added_later"] = {"any": ["thing"]}
        places.append(where)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            places += add_everywhere(value, f"{where}[{i}]")
    return places


# (what, how to spoil the sample, text the error must contain), in both modes
BOTH = [
    ("a missing version", lambda d: delete(d, ["version"]), "$: 'version' is a required property"),
    ("a string version", lambda d: put(d, ["version"], "1"), "$.version: '1' is not of type 'integer'"),
    ("a fractional version", lambda d: put(d, ["version"], 1.5), "$.version: 1.5 is not of type 'integer'"),
    ("a version of 0", lambda d: put(d, ["version"], 0), "$.version: 0 is less than the minimum of 1"),
    ("a string for a number", lambda d: put(d, ["outputs", 0, "connector_id"], "35"), "$.outputs[0].connector_id:"),
]

# (what, how to spoil the sample, text the error must contain), strict mode
CASES = [
    ("a missing daemon key", lambda d: delete(d, ["daemon", "pid"]), "$.daemon: 'pid' is a required property"),
    ("a missing output key", lambda d: delete(d, ["outputs", 0, "rotation"]), "$.outputs[0]: 'rotation' is a required property"),
    ("a missing vGPU key", lambda d: delete(d, ["vgpus", 1, "clock"]), "$.vgpus[1]: 'clock' is a required property"),
    ("a string for a number", lambda d: put(d, ["outputs", 0, "connector_id"], "35"), "$.outputs[0].connector_id:"),
    ("a negative count", lambda d: put(d, ["outputs", 0, "counters", "commits"], -1), "$.outputs[0].counters.commits:"),
    ("a number for a boolean", lambda d: put(d, ["vgpus", 0, "attached"], 1), "$.vgpus[0].attached:"),
    ("an unknown plane type", lambda d: put(d, ["outputs", 0, "planes", 1, "type"], "underlay"), "$.outputs[0].planes[1].type:"),
    ("an unknown miss reason", lambda d: put(d, ["outputs", 0, "layers", 0, "miss"], ["scaling"]), "$.outputs[0].layers[0].miss[0]:"),
    ("a rotation of 45", lambda d: put(d, ["outputs", 0, "rotation"], 45), "$.outputs[0].rotation:"),
    ("a malformed schedule", lambda d: put(d, ["outputs", 0, "blank_schedule"], "7:00-25:00"), "$.outputs[0].blank_schedule:"),
    ("a key the schema does not know", lambda d: put(d, ["outputs", 1, "colour"], "red"), "$.outputs[1]: Additional properties"),
    ("an unknown uinput kind", lambda d: put(d, ["vgpus", 1, "uinput", "tablet"], "/dev/input/event3"), "$.vgpus[1].uinput: Additional properties"),
    ("a null vfio field", lambda d: put(d, ["vgpus", 0, "vfio", "polls"], None), "$.vgpus[0].vfio"),
]


def main(argv):
    if len(argv) != 4:
        print("usage: test-validate-json.py VALIDATOR SCHEMA SAMPLE", file=sys.stderr)
        return 2
    validator, schema, sample_path = argv[1:]
    with open(sample_path, encoding="utf-8") as f:
        sample = json.load(f)
    failed = 0

    code, err = run(validator, schema, sample)
    if code != 0:
        print(f"FAIL: the sample is refused (exit {code}):\n{err}")
        failed += 1
    else:
        print("ok: the sample is valid")

    for what, spoil, want in CASES:
        doc = copy.deepcopy(sample)
        spoil(doc)
        code, err = run(validator, schema, doc)
        if code != 1 or want not in err:
            print(f"FAIL: {what}: exit {code}, want 1 and {want!r} in:\n{err}")
            failed += 1
        else:
            print(f"ok: {what}: {err.strip().splitlines()[0]}")

    for strict in (False, True):
        mode = "strict" if strict else "open"
        code, err = run(validator, schema, sample, strict)
        if code != 0:
            print(f"FAIL: {mode}: the sample is refused (exit {code}):\n{err}")
            failed += 1
        for what, spoil, want in BOTH:
            doc = copy.deepcopy(sample)
            spoil(doc)
            code, err = run(validator, schema, doc, strict)
            if code != 1 or want not in err:
                print(f"FAIL: {mode}: {what}: exit {code}, want 1 and {want!r} in:\n{err}")
                failed += 1
            else:
                print(f"ok: {mode}: {what}: {err.strip().splitlines()[0]}")

    doc = copy.deepcopy(sample)
    places = add_everywhere(doc)
    code, err = run(validator, schema, doc, strict=False)
    if code != 0:
        print(f"FAIL: open: a key added to all {len(places)} objects is refused (exit {code}):\n{err}")
        failed += 1
    else:
        print(f"ok: open: a key added to all {len(places)} objects validates")
    code, err = run(validator, schema, doc, strict=True)
    refused = {line.split(": ")[1] for line in err.splitlines()
               if "Additional properties" in line and "'added_later'" in line}
    if code != 1 or refused != set(places):
        missed = sorted(set(places) - refused)
        print(f"FAIL: strict: a key added to every object: exit {code}, not refused at {missed}:\n{err}")
        failed += 1
    else:
        print(f"ok: strict: a key added to every object is refused at all {len(places)}")

    code, err = run(validator, schema, "{ not json")
    if code != 2:
        print(f"FAIL: a document that is not JSON: exit {code}, want 2")
        failed += 1
    else:
        print(f"ok: not JSON: {err.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
