#!/usr/bin/env python3
"""vscanoutd and vscanoutctl without flags find what a host has.

    check-defaults.py VSCANOUTD VSCANOUTCTL SYSCONFDIR

Runs in a user and mount namespace of its own (unshare), where /run is a
fresh tmpfs and SYSCONFDIR a writable overlay of itself, so the host's
files are never touched:

- vscanoutd --check-config without -c checks SYSCONFDIR/vscanout/vscanout.conf
  when it exists (valid, or its errors as FILE:LINE: message and status 1),
  and says that the built-in defaults apply when it does not;
- vscanoutctl without -s, with XDG_RUNTIME_DIR set, connects to the first
  of $XDG_RUNTIME_DIR/vscanout-0 and /run/vscanout/vscanout-0 where
  something listens (a stale socket file is passed over), only to
  $VSCANOUT_SOCKET when that is set, and names every path it tried when
  none answers;
- vscanoutctl exits 2 on a bad command line, 1 on a failure.

The stand-in daemon accepts a connection and closes it: which path
vscanoutctl connected to shows in its "lost the connection to vscanoutd at
PATH" message. Exits 77 (skipped) where unprivileged namespaces are not
available.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading

MARK = "VSCANOUT_DEFAULTS_IN_NAMESPACE"
SYSTEM_SOCKET = "/run/vscanout/vscanout-0"
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def run(argv, env=None):
    full_env = dict(os.environ)
    full_env.pop("VSCANOUT_SOCKET", None)
    full_env.pop("XDG_RUNTIME_DIR", None)
    full_env.update(env or {})
    r = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=30,
                       check=False)
    return r.returncode, r.stdout, r.stderr


class Listener:
    """A socket at path that accepts connections and closes them at once."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def stale_socket(path):
    """A socket file nobody listens on any more (a daemon that died)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def check_daemon_default(vscanoutd, sysconfdir):
    conf = os.path.join(sysconfdir, "vscanout", "vscanout.conf")
    code, out, err = run([vscanoutd, "--help"])
    expect(code == 0 and conf in out, f"--help names {conf}: {out}")

    code, out, err = run([vscanoutd, "--check-config"])
    expect(code == 0 and f"{conf} does not exist" in out and "built-in defaults" in out,
           f"no default file: exit {code}, {out!r} {err!r}")

    os.makedirs(os.path.dirname(conf))
    with open(conf, "w", encoding="utf-8") as f:
        f.write("[daemon]\nlog-level = warning\n[output Virtual-1]\nmode = 1024x768\n")
    code, out, err = run([vscanoutd, "--check-config"])
    expect(code == 0 and out == f"{conf}: valid\n", f"default file: exit {code}, {out!r} {err!r}")

    with open(conf, "w", encoding="utf-8") as f:
        f.write("[daemon]\nlog-level = shouting\n")
    code, out, err = run([vscanoutd, "-t"])
    expect(code == 1 and err.startswith(f"{conf}:2: [daemon] log-level 'shouting'"),
           f"bad default file: exit {code}, {err!r}")

    # -c still wins over the default file.
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[daemon]\n")
    code, out, err = run([vscanoutd, "-t", "-c", f.name])
    expect(code == 0 and out == f"{f.name}: valid\n", f"-c over the default: {out!r} {err!r}")
    os.unlink(f.name)

    # A default file that exists but cannot be read is an error, not the defaults.
    os.unlink(conf)
    os.mkdir(conf)
    code, out, err = run([vscanoutd, "--check-config"])
    expect(code == 1 and conf in err, f"unreadable default file: exit {code}, {err!r}")
    os.rmdir(conf)


def check_ctl_sockets(vscanoutctl):
    os.makedirs(os.path.dirname(SYSTEM_SOCKET))
    runtime = tempfile.mkdtemp(prefix="vscanout-xdg-")
    user_socket = os.path.join(runtime, "vscanout-0")
    xdg = {"XDG_RUNTIME_DIR": runtime}

    # Nothing anywhere: both paths named, status 1.
    code, out, err = run([vscanoutctl, "status"], xdg)
    expect(code == 1 and f"tried {user_socket} (No such file or directory), {SYSTEM_SOCKET} "
           "(No such file or directory)" in err, f"no daemon: exit {code}, {err!r}")

    # The system daemon only, a stale socket of the user's: the system one.
    stale_socket(user_socket)
    system = Listener(SYSTEM_SOCKET)
    code, out, err = run([vscanoutctl, "status"], xdg)
    expect(code == 1 and f"vscanoutd at {SYSTEM_SOCKET}" in err and "tried" not in err,
           f"system daemon with XDG_RUNTIME_DIR set: exit {code}, {err!r}")
    # Without XDG_RUNTIME_DIR too.
    code, out, err = run([vscanoutctl, "status"])
    expect(code == 1 and f"vscanoutd at {SYSTEM_SOCKET}" in err,
           f"system daemon: exit {code}, {err!r}")

    # A daemon of the user's own comes first.
    os.unlink(user_socket)
    user = Listener(user_socket)
    code, out, err = run([vscanoutctl, "status"], xdg)
    expect(code == 1 and f"vscanoutd at {user_socket}" in err,
           f"user daemon first: exit {code}, {err!r}")
    user.close()

    # $VSCANOUT_SOCKET and -s name one socket, tried alone.
    code, out, err = run([vscanoutctl, "status"], {"VSCANOUT_SOCKET": user_socket, **xdg})
    expect(code == 1 and f"cannot connect to vscanoutd at {user_socket}: Connection refused"
           in err, f"VSCANOUT_SOCKET: exit {code}, {err!r}")
    code, out, err = run([vscanoutctl, "-s", "/nowhere/vscanout-0", "status"], xdg)
    expect(code == 1 and "cannot connect to vscanoutd at /nowhere/vscanout-0: No such file"
           in err, f"-s: exit {code}, {err!r}")
    code, out, err = run([vscanoutctl, "--socket", SYSTEM_SOCKET, "status"])
    expect(code == 1 and f"vscanoutd at {SYSTEM_SOCKET}" in err and "cannot connect" not in err,
           f"--socket: exit {code}, {err!r}")
    system.close()
    os.unlink(user_socket)
    os.rmdir(runtime)


def check_ctl_usage(vscanoutctl):
    for argv, text in [
        ([], "no command given"),
        (["--bogus", "status"], "unknown option '--bogus'"),
        (["-x", "status"], "unknown option '-x'"),
        (["-s"], "option '-s' needs an argument"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["status", "--yaml"], "status: unknown argument '--yaml'"),
        (["blank"], "blank: expected OUTPUT"),
        (["assign", "a"], "assign: expected VGPU OUTPUT [SLOT]"),
        (["assign", "a", "HDMI-A-1", "0"], "SLOT must be a place"),
        (["reload", "now"], "reload: expected no arguments"),
        (["debugfs", "--bogus"], "debugfs: unknown argument '--bogus'"),
        (["screenshot", "HDMI-A-1"], "screenshot: expected OUTPUT FILE"),
        (["list", "monitors"], "list: expected outputs or vgpus"),
    ]:
        code, out, err = run([vscanoutctl] + argv, {"VSCANOUT_SOCKET": "/nowhere/vscanout-0"})
        expect(code == 2 and text in err and err.count("\n") == 1,
               f"vscanoutctl {' '.join(argv)}: exit {code}, {err!r}; want 2 with {text!r}")
    code, out, err = run([vscanoutctl, "--help"])
    expect(code == 0 and "Exit status: 0 done, 1 failed" in out and SYSTEM_SOCKET in out,
           f"--help: {out!r}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    vscanoutd, vscanoutctl, sysconfdir = sys.argv[1:]
    if os.environ.get(MARK) != "1":
        env = dict(os.environ, **{MARK: "1"})
        unshare = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
        try:
            probe = subprocess.run(unshare + ["true"], capture_output=True, check=False)
        except FileNotFoundError:
            probe = None
        if probe is None or probe.returncode != 0:
            print("no user and mount namespace to be had here: skipped", file=sys.stderr)
            sys.exit(77)
        r = subprocess.run(unshare + [sys.executable] + sys.argv, env=env, check=False)
        sys.exit(r.returncode)

    # Inside the namespace: a fresh /run, and SYSCONFDIR (/etc for a package
    # build) under a writable overlay, so that it keeps what it holds (the
    # dynamic linker's cache, passwd) and the host's stays untouched.
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    scratch = tempfile.mkdtemp(prefix="vscanout-defaults-")
    os.mkdir(os.path.join(scratch, "upper"))
    os.mkdir(os.path.join(scratch, "work"))
    overlay = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={sysconfdir},upperdir={scratch}/upper,workdir={scratch}/work", sysconfdir],
        capture_output=True, text=True, check=False) if os.path.isdir(sysconfdir) else None
    if overlay is not None and overlay.returncode == 0:
        if os.path.exists(os.path.join(sysconfdir, "vscanout")):
            subprocess.run(["rm", "-rf", os.path.join(sysconfdir, "vscanout")], check=True)
        check_daemon_default(os.path.abspath(vscanoutd), sysconfdir)
    else:
        print(f"no overlay on {sysconfdir} here: the default file is not checked",
              file=sys.stderr)
    check_ctl_sockets(os.path.abspath(vscanoutctl))
    check_ctl_usage(os.path.abspath(vscanoutctl))
    if failures:
        sys.exit(f"{len(failures)} checks failed")
    print("defaults: ok")


if __name__ == "__main__":
    main()
