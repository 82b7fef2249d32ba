#!/usr/bin/env python3
"""Every configuration the documentation shows must be one vscanoutd takes.

    check-config-docs.py VSCANOUTD FILE...

Each FILE is a configuration file (.conf, .sample: checked whole) or a
document (README.md, a man page source): its fenced blocks that hold an INI
section line are checked, one by one. User and group names that this
machine does not have (qemu, kiosk-vm, the vscanout group before
installation) are replaced by root for the check; everything else is taken
as written, inline comments included. Runs `VSCANOUTD --check-config -c`
on each and fails naming the document, the block's first line and
vscanoutd's error.
"""

import grp
import os
import pwd
import re
import subprocess
import sys
import tempfile

NAME_KEYS = {"allow-uid": pwd.getpwnam, "allow-gid": grp.getgrnam, "control-group": grp.getgrnam}
SECTION = re.compile(r"^\s*\[[a-z]+( [^\]]+)?\]", re.M)


def blocks(path):
    """(first line number, text) of each configuration in the file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not (path.endswith(".md") or path.endswith(".scd")):
        return [(1, text)]
    found = []
    for m in re.finditer(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S):
        if SECTION.search(m.group(1)):
            found.append((text.count("\n", 0, m.start()) + 2, m.group(1)))
    return found


def known(lookup, name):
    if name.isdigit():
        return True
    try:
        lookup(name)
        return True
    except KeyError:
        return False


def localise(text):
    """Replace names this machine lacks by root, keeping comments and layout."""
    out = []
    for line in text.splitlines(keepends=True):
        m = re.match(r"^(\s*([a-z-]+)\s*=\s*)([^#;\n]*?)(\s*([#;].*)?\n?)$", line)
        if m and m.group(2) in NAME_KEYS:
            lookup = NAME_KEYS[m.group(2)]
            names = [n.strip() for n in m.group(3).split(",")]
            names = [n if known(lookup, n) else "root" for n in names]
            line = m.group(1) + ", ".join(names) + m.group(4)
        out.append(line)
    return "".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    vscanoutd, files = sys.argv[1], sys.argv[2:]
    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            found = blocks(path)
            if not found:
                print(f"{path}: no configuration found", file=sys.stderr)
                failures += 1
            for line, text in found:
                conf = os.path.join(tmp, "doc.conf")
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(localise(text))
                r = subprocess.run([vscanoutd, "--check-config", "-c", conf],
                                   capture_output=True, text=True, check=False)
                checked += 1
                if r.returncode != 0:
                    failures += 1
                    print(f"{path}:{line}: this configuration is refused:\n{r.stderr}",
                          file=sys.stderr)
    print(f"{checked} configurations checked, {failures} refused")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
