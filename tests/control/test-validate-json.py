#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The status schema and its validator can fail.

usage: test-validate-json.py VALIDATOR SCHEMA SAMPLE

The sample status document is valid; each change below (a required key
missing, a wrong type, a value outside an enum or pattern, a key the
schema does not know) makes the validator exit 1 naming where the
document is wrong; an unreadable file makes it exit 2.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile


def run(validator, schema, document):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        if isinstance(document, str):
            f.write(document)
        else:
            json.dump(document, f)
        path = f.name
    try:
        r = subprocess.run([sys.executable, validator, schema, path],
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


# (what, how to spoil the sample, text the error must contain)
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

    code, err = run(validator, schema, "{ not json")
    if code != 2:
        print(f"FAIL: a document that is not JSON: exit {code}, want 2")
        failed += 1
    else:
        print(f"ok: not JSON: {err.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
