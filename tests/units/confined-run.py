#!/usr/bin/env python3
"""vscanoutd confined as vscanoutd.service confines it, on vkms in the VM.

    confined-run.py UNIT VSCANOUTD VSCANOUTCTL SIM_VMM

No systemd runs in the test bed, so the unit's confinement is applied by
hand, read from the installed unit file: its CapabilityBoundingSet= (with
setpriv), NoNewPrivileges= and UMask=; its SystemCallFilter= is checked on
every system call the daemon and its children make (strace -f), against
the list `systemd-analyze syscall-filter` expands it to. With libseat's
builtin backend (the one that needs the capabilities), the daemon must:

  - report READY=1 (the seat opened, DRM master, the output lit);
  - show a VMM's frames (vscanout-sim-vmm, dma-bufs) on a vGPU with
    uinput = yes (virtual input devices made and handed over);
  - take a writeback screenshot (vscanoutctl);
  - follow a VT switch away and back and be DRM master again afterwards
    (a screenshot needs a commit);
  - reload on SIGHUP (RELOADING=1, READY=1) and stop on SIGTERM with
    status 0;
  - make no system call outside the filter, none that fails with EPERM
    (a capability missing from the bounding set), and log no refusal.
Exit 77 without a VT. The strace log is kept in the artefacts.
"""

import fcntl
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120.0  # a bound: strace slows the daemon down, more so on a busy host
VT_ACTIVATE = 0x5606
VT_WAITACTIVE = 0x5607


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def unit_settings(path):
    """The [Service] assignments of the unit: key -> list of values."""
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;" or line.startswith("[") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def syscall_groups():
    """Each @group of systemd-analyze syscall-filter -> its members (names, @groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         capture_output=True, text=True, check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names, groups):
    result = set()
    for name in names:
        if name.startswith("@"):
            if name not in groups:
                fail(f"unknown system call group {name}")
            result |= expand(groups[name], groups)
        else:
            result.add(name)
    return result


def allowed_syscalls(values):
    """The set SystemCallFilter= lines allow (the first is an allow list)."""
    groups = syscall_groups()
    allowed = None
    for value in values:
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        if allowed is None:
            if deny:
                fail("the unit's first SystemCallFilter= is a deny list")
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    if allowed is None:
        fail("the unit has no SystemCallFilter=")
    return allowed


class Daemon:
    def __init__(self, argv, env, umask):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = os.path.join(tmp, "notify")
        self.notify.bind(self.notify_path)
        env = dict(env, NOTIFY_SOCKET=self.notify_path)
        self.proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE,
                                     preexec_fn=lambda: os.umask(umask))
        self.stderr = self.proc.stderr.fileno()
        self.partial = b""
        self.ended = False
        self.stopping = False
        self.log = []
        self.pid = None

    def lines(self, timeout):
        """Read what arrives within timeout: log lines and notifications."""
        got = []
        fds = [self.notify] + ([] if self.ended else [self.stderr])
        ready, _, _ = select.select(fds, [], [], max(timeout, 0))
        if self.notify in ready:
            msg = self.notify.recv(4096).decode()
            print(f"notify: {msg.strip()}")
            got += [("notify", m) for m in msg.split("\n") if m]
        if self.stderr in ready:
            data = os.read(self.stderr, 65536)
            if not data:
                self.ended = True
                if not self.stopping:
                    fail(f"vscanoutd ended early:\n{''.join(self.log[-30:])}")
            self.partial += data
            *complete, self.partial = self.partial.split(b"\n")
            for raw in complete:
                line = raw.decode(errors="replace") + "\n"
                if not line.startswith("libliftoff:"):
                    print(f"vscanoutd: {line}", end="")
                self.log.append(line)
                got.append(("log", line))
        return got

    def wait_for(self, kind, text, what):
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            for k, msg in self.lines(end - time.monotonic()):
                if k == kind and text in msg:
                    return
        fail(f"timed out waiting for {what}")


def ctl(*args, check=True):
    r = subprocess.run([vscanoutctl, "--socket", sock_path, *args], capture_output=True,
                       text=True, timeout=TIMEOUT, check=False)
    print(f"$ vscanoutctl {' '.join(args)} -> {r.returncode}\n{r.stdout[:2000]}{r.stderr}", end="")
    if check and r.returncode != 0:
        fail(f"vscanoutctl {' '.join(args)} failed")
    return r


def screenshot(name):
    path = os.path.join(tmp, name)
    r = ctl("screenshot", "Virtual-1", path, check=False)
    if r.returncode != 0:
        return False
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail(f"{path} is not a PNG")
    return True


def switch_vt(tty0, vt):
    fcntl.ioctl(tty0, VT_ACTIVATE, vt)
    fcntl.ioctl(tty0, VT_WAITACTIVE, vt)


def in_background(daemon, argv):
    """Run argv while serving the daemon's log; returns its exit status."""
    proc = subprocess.Popen(argv)
    end = time.monotonic() + TIMEOUT
    while proc.poll() is None:
        if time.monotonic() > end:
            proc.kill()
            fail(f"{argv[0]} did not end")
        daemon.lines(0.1)
    return proc.returncode


def main():
    global tmp, sock_path, vscanoutctl
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    unit, vscanoutd, vscanoutctl, sim_vmm = sys.argv[1:]
    if not os.path.exists("/dev/tty0"):
        print("no VT: skipped")
        sys.exit(77)

    settings = unit_settings(unit)
    caps = settings["CapabilityBoundingSet"][-1].split()
    allowed = allowed_syscalls(settings["SystemCallFilter"])
    umask = int(settings.get("UMask", ["0022"])[-1], 8)
    nnp = settings.get("NoNewPrivileges", ["no"])[-1] == "yes"
    print(f"unit {os.path.basename(unit)}: capabilities {' '.join(caps)}, "
          f"{len(allowed)} system calls, umask {umask:04o}, NoNewPrivileges {nnp}")

    tmp = tempfile.mkdtemp(prefix="vscanout-confined-")
    sock_path = os.path.join(tmp, "vscanout-0")
    conf = os.path.join(tmp, "vscanout.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"[daemon]\nsocket = {sock_path}\n"
                "[output Virtual-1]\nvgpu = sim\nflip = vsync\n"
                "[vgpu sim]\nallow-uid = root\nuinput = yes\n")
    # The trace is kept with the test's artefacts.
    trace = os.path.join(os.environ.get("VM_ARTEFACTS", tmp), "strace.txt")
    bounding = "-all," + ",".join("+" + c.lower().removeprefix("cap_") for c in caps)
    argv = ["setpriv", f"--bounding-set={bounding}"] + (["--no-new-privs"] if nnp else [])
    argv += ["--", "strace", "-f", "-qq", "-o", trace, vscanoutd, "-c", conf]
    env = dict(os.environ, LIBSEAT_BACKEND="builtin")
    tty0 = os.open("/dev/tty0", os.O_RDWR | os.O_CLOEXEC)
    first_vt = int(open("/sys/class/tty/tty0/active").read().strip().removeprefix("tty"))

    daemon = Daemon(argv, env, umask)
    daemon.wait_for("notify", "READY=1", "READY=1")
    status = json.loads(ctl("status", "--json").stdout)
    daemon.pid = status["daemon"]["pid"]
    out = [o for o in status["outputs"] if o["name"] == "Virtual-1"]
    if not out or out[0]["state"] != "on":
        fail("Virtual-1 is not lit")

    # A VMM's frames, on a vGPU with virtual input devices.
    rc = in_background(daemon, [sim_vmm, "--socket", sock_path, "--vgpu", "sim", "--frames",
                                "20"])
    if rc != 0:
        fail(f"vscanout-sim-vmm exited with {rc}")
    if not screenshot("shot-1.png"):
        fail("no screenshot")

    # Away to another VT and back: DRM master again.
    switch_vt(tty0, first_vt + 1)
    daemon.wait_for("log", "session inactive", "the session to go inactive")
    switch_vt(tty0, first_vt)
    daemon.wait_for("log", "session active", "the session to come back")
    end = time.monotonic() + TIMEOUT
    while not screenshot("shot-2.png"):
        if time.monotonic() > end:
            fail("no screenshot after the VT switch back")
        daemon.lines(0.2)

    os.kill(daemon.pid, signal.SIGHUP)
    daemon.wait_for("notify", "RELOADING=1", "RELOADING=1")
    daemon.wait_for("notify", "READY=1", "READY=1 after the reload")

    daemon.stopping = True
    os.kill(daemon.pid, signal.SIGTERM)
    daemon.wait_for("notify", "STOPPING=1", "STOPPING=1")
    end = time.monotonic() + TIMEOUT
    while not daemon.ended:
        if time.monotonic() > end:
            fail("vscanoutd did not exit after SIGTERM")
        daemon.lines(0.2)
    daemon.proc.wait()
    if daemon.proc.returncode != 0:
        fail(f"vscanoutd exited with {daemon.proc.returncode}")

    refused = [l for l in daemon.log if "Operation not permitted" in l or "EPERM" in l]
    if refused:
        fail("vscanoutd logged refusals:\n" + "".join(refused))

    used, outside = {}, {}
    call = re.compile(r"^\d+\s+([a-z_0-9]+)\(")
    with open(trace, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = call.match(line)
            if not m:
                continue
            name = m.group(1)
            used[name] = used.get(name, 0) + 1
            if name not in allowed:
                outside.setdefault(name, line.strip())
    print(f"{len(used)} distinct system calls made: {' '.join(sorted(used))}")
    # libudev asks for a netlink receive buffer beyond net.core.rmem_max
    # (SO_RCVBUFFORCE, CAP_NET_ADMIN) and keeps the largest one allowed: the
    # unit does not grant network administration for that.
    eperm = [l.strip() for l in open(trace, encoding="utf-8", errors="replace")
             if "= -1 EPERM" in l and "SO_RCVBUFFORCE" not in l]
    for line in eperm[:10]:
        print(f"EPERM: {line}")
    if outside:
        fail("system calls outside the unit's SystemCallFilter=:\n" +
             "\n".join(outside.values()))
    if eperm:
        fail(f"{len(eperm)} system calls failed with EPERM under the capability bounding set")
    print("ok")


if __name__ == "__main__":
    main()
