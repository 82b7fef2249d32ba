#!/usr/bin/env python3
"""Every configuration the documentation shows must be one vscanoutd takes
on a stock Debian 12 with the packages the documentation names.

    check-config-docs.py VSCANOUTD SYSUSERS FILE...

Each FILE is a configuration file (.conf, .sample: checked whole) or a
document (README.md, a man page source): its fenced blocks that hold an INI
section line are checked, one by one, as written, inline comments
included, with `VSCANOUTD --check-config -c`.

User and group names (allow-uid, allow-gid, control-group) must be ones a
stock Debian 12 has, or that a package the documentation names creates
(the table below), or that vscanout's own sysusers.d file SYSUSERS creates,
or that the documents create themselves (a `useradd ... NAME` or
`groupadd ... NAME` in them). A name outside these fails the test, naming
the document and line, even when this machine happens to have it.

The check runs in a user and mount namespace of its own (unshare) whose
/etc/passwd and /etc/group hold exactly those names, so vscanoutd looks
them up as it would on such a host and the machine's own databases are
neither used nor touched. Without namespaces (a container that forbids
them) the names are still checked against the table, and replaced by root
for running vscanoutd.
"""

import os
import re
import subprocess
import sys
import tempfile

MARK = "VSCANOUT_CONFIG_DOCS_IN_NAMESPACE"
NAME_KEYS = {"allow-uid": "user", "allow-gid": "group", "control-group": "group"}
SECTION = re.compile(r"^\s*\[[a-z]+( [^\]]+)?\]", re.M)

# What a stock Debian 12 has, and the packages the documentation names.
DEBIAN_USERS = {
    "root": "base-passwd",
    "daemon": "base-passwd",
    "nobody": "base-passwd",
    "libvirt-qemu": "libvirt-daemon-system",
}
DEBIAN_GROUPS = {
    "root": "base-passwd",
    "video": "base-passwd",
    "users": "base-passwd",
    "kvm": "udev",
    "render": "udev",
    "input": "udev",
    "libvirt": "libvirt-daemon-system",
    "libvirt-qemu": "libvirt-daemon-system",
}


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


def created_by_docs(paths):
    """Users and groups the documents tell the reader to create."""
    users, groups = {}, {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # The command runs to the end of its `code` or *bold* span.
        for m in re.finditer(r"\b(useradd|groupadd)\b([^`*]*)", text):
            words = m.group(2).split()
            if words:
                kind = users if m.group(1) == "useradd" else groups
                kind[words[-1]] = f"{os.path.basename(path)} ({m.group(1)})"
    return users, groups


def created_by_sysusers(path):
    users, groups = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] in ("u", "g"):
                (users if words[0] == "u" else groups)[words[1]] = "sysusers.d/vscanout.conf"
                if words[0] == "u":
                    groups[words[1]] = "sysusers.d/vscanout.conf"
    return users, groups


def name_lines(text):
    """(line index, key, kind, names, match) of each user or group key."""
    for i, line in enumerate(text.splitlines(keepends=True)):
        m = re.match(r"^(\s*([a-z-]+)\s*=\s*)([^#;\n]*?)(\s*([#;].*)?\n?)$", line)
        if m and m.group(2) in NAME_KEYS:
            names = [n for n in re.split(r"[,\s]+", m.group(3)) if n]
            yield i, m.group(2), NAME_KEYS[m.group(2)], names, m


def localise(text):
    """Replace every name by root, keeping comments and layout."""
    lines = text.splitlines(keepends=True)
    for i, _, _, names, m in list(name_lines(text)):
        names = [n if n.isdigit() else "root" for n in names]
        lines[i] = m.group(1) + ", ".join(names) + m.group(4)
    return "".join(lines)


def write_databases(etc, users, groups):
    """passwd and group files holding exactly these names."""
    ids = {}
    next_id = 60000
    for name in sorted(set(users) | set(groups)):
        ids[name] = 0 if name == "root" else next_id
        next_id += 0 if name == "root" else 1
    with open(os.path.join(etc, "passwd"), "w", encoding="utf-8") as f:
        for name in sorted(users):
            f.write(f"{name}:x:{ids[name]}:{ids[name]}::/nonexistent:/usr/sbin/nologin\n")
    with open(os.path.join(etc, "group"), "w", encoding="utf-8") as f:
        # Each user also has a group of its name, as useradd and adduser make.
        for name in sorted(set(groups) | set(users)):
            f.write(f"{name}:x:{ids[name]}:\n")


def enter_namespace():
    """Re-run this script in a user and mount namespace; False when there is none."""
    unshare = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    try:
        probe = subprocess.run(unshare + ["true"], capture_output=True, check=False)
    except FileNotFoundError:
        return False
    if probe.returncode != 0:
        return False
    env = dict(os.environ, **{MARK: "1"})
    r = subprocess.run(unshare + [sys.executable] + sys.argv, env=env, check=False)
    sys.exit(r.returncode)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    vscanoutd, sysusers, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    in_namespace = os.environ.get(MARK) == "1"
    if not in_namespace and not enter_namespace():
        print("no user and mount namespace here: names are checked against the table and "
              "replaced by root to run vscanoutd", file=sys.stderr)

    users, groups = dict(DEBIAN_USERS), dict(DEBIAN_GROUPS)
    for more in (created_by_sysusers(sysusers), created_by_docs(files)):
        users.update(more[0])
        groups.update(more[1])

    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        if in_namespace:
            write_databases(tmp, users, groups)
            for db in ("passwd", "group"):
                subprocess.run(["mount", "--bind", os.path.join(tmp, db), f"/etc/{db}"],
                               check=True)
        for path in files:
            found = blocks(path)
            if not found:
                print(f"{path}: no configuration found", file=sys.stderr)
                failures += 1
            for line, text in found:
                for i, key, kind, names, _ in name_lines(text):
                    known = users if kind == "user" else groups
                    for name in names:
                        if not name.isdigit() and name not in known:
                            failures += 1
                            print(f"{path}:{line + i}: {key} = {name}: no {kind} '{name}' on a "
                                  f"stock Debian 12 or from a package the text names; known: "
                                  f"{', '.join(sorted(known))} (or create it in the text with "
                                  f"{'useradd' if kind == 'user' else 'groupadd'})",
                                  file=sys.stderr)
                conf = os.path.join(tmp, "doc.conf")
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(text if in_namespace else localise(text))
                r = subprocess.run([vscanoutd, "--check-config", "-c", conf],
                                   capture_output=True, text=True, check=False)
                checked += 1
                if r.returncode != 0:
                    failures += 1
                    print(f"{path}:{line}: this configuration is refused:\n{r.stderr}",
                          file=sys.stderr)

        # The check itself: a name that exists nowhere is refused by vscanoutd.
        if in_namespace:
            conf = os.path.join(tmp, "unknown.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write("[vgpu a]\nallow-uid = qemu\n")
            r = subprocess.run([vscanoutd, "--check-config", "-c", conf],
                               capture_output=True, text=True, check=False)
            if r.returncode != 1 or "allow-uid: no user 'qemu'" not in r.stderr:
                failures += 1
                print(f"an unknown user was not refused: {r.returncode} {r.stderr}",
                      file=sys.stderr)
    print(f"{checked} configurations checked{' with the names created' if in_namespace else ''}"
          f", {failures} refused")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
