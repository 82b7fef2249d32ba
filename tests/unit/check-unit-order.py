#!/usr/bin/env python3
"""The units order vscanoutd as a display master on a real host.

    check-unit-order.py VSCANOUTD SERVICE TEMPLATE

SERVICE (vscanoutd.service) starts after Plymouth's splash and the login
gate and conflicts with the getty on seat0's VT (tty1); TEMPLATE
(vscanoutd@.service) passes its instance name as --seat. The template's
ExecStart, with the instance seat1 and VSCANOUTD, is run with
--check-config on a file naming seat1 (valid), none (valid: the option
decides) and seat0 (refused, naming both seats).
"""

import os
import shlex
import subprocess
import sys
import tempfile


def unit_values(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).extend(value.split())
    return values


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    vscanoutd, service, template = sys.argv[1:]
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)
            print(f"FAIL: {what}", file=sys.stderr)

    v = unit_values(service)
    for unit in ["plymouth-quit-wait.service", "systemd-user-sessions.service",
                 "getty@tty1.service"]:
        expect(unit in v.get("After", []), f"vscanoutd.service: no After={unit}")
    expect("getty@tty1.service" in v.get("Conflicts", []),
           "vscanoutd.service: no Conflicts=getty@tty1.service")

    t = unit_values(template)
    expect("plymouth-quit-wait.service" in t.get("After", []),
           "vscanoutd@.service: no After=plymouth-quit-wait.service")
    argv = t.get("ExecStart", [])
    expect(argv[1:3] == ["--seat", "%i"], f"vscanoutd@.service: ExecStart={argv}")

    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "seat1.conf")
        for text, code, said in [
            ("[daemon]\nseat = seat1\n", 0, f"{conf}: valid"),
            ("[daemon]\nsocket = /run/vscanout/seat1\n", 0, f"{conf}: valid"),
            ("[daemon]\n\nseat = seat0\n", 1,
             f"{conf}:3: [daemon] seat = seat0, but vscanoutd was started for seat seat1"),
        ]:
            with open(conf, "w", encoding="utf-8") as f:
                f.write(text)
            cmd = [vscanoutd] + [a.replace("%i", "seat1") for a in argv[1:]]
            cmd = [conf if a.endswith("/seat1.conf") else a for a in cmd] + ["--check-config"]
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            expect(r.returncode == code and said in r.stdout + r.stderr,
                   f"{shlex.join(cmd)} on {text!r}: exit {r.returncode}, {r.stdout!r} "
                   f"{r.stderr!r}; want {code} with {said!r}")
    if failures:
        sys.exit(f"{len(failures)} checks failed")
    print("unit order and seat: ok")


if __name__ == "__main__":
    main()
