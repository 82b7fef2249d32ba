#!/usr/bin/env python3
"""The Debian packages installed with dpkg, and vscanoutd started from its unit.

    package-install.py DEB_DIR README

Runs in the VM test bed (vkms, uinput, a udevd of its own; the guest's /
is a throw-away overlay of the host's). DEB_DIR holds what tools/build-deb
made; without the packages the test fails, naming the command that makes
them. Then:

  - dpkg -i installs vscanoutd, vscanout-dev and vscanout-sim-vmm; the
    maintainer scripts made the groups the sysusers.d file names, left the
    units neither enabled nor started, and made udevd apply the rule at
    once: a virtual input device named "vscanout ..." that existed before
    the installation is root's and ignored by libinput afterwards, a new
    one too, another device is left alone;
  - the README's kiosk configuration (section "A kiosk", its connector
    made vkms's Virtual-1, its blanking hours moved away from now) becomes
    /etc/vscanout/vscanout.conf, with its VMM user created;
  - vscanoutd is started as systemd would start the installed
    vscanoutd.service: its ExecStart= with NOTIFY_SOCKET, Group=, UMask=,
    RuntimeDirectory=, LimitNOFILE=; it reports READY=1, its socket is
    root:vscanout 0660, the installed vscanoutctl (without --socket) shows
    the output lit; ExecReload= reloads it (RELOADING=1, READY=1), SIGTERM
    stops it with status 0;
  - dpkg --purge removes the packages again.
"""

import fcntl
import glob
import grp
import json
import os
import re
import resource
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT = 30.0
BEGIN = time.monotonic()
PACKAGES = ["vscanoutd", "vscanout-dev", "vscanout-sim-vmm"]
UNIT = "/lib/systemd/system/vscanoutd.service"
CONF = "/etc/vscanout/vscanout.conf"

# uinput (linux/uinput.h)
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
UI_DEV_SETUP = 0x405C5503  # _IOW('U', 3, struct uinput_setup), 92 bytes
UI_SET_EVBIT = 0x40045564
UI_SET_KEYBIT = 0x40045565
EV_KEY = 1
KEY_A = 30


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    out = (r.stdout + r.stderr).rstrip()
    print(f"[{time.monotonic() - BEGIN:5.1f} s] $ {shlex.join(argv)} -> {r.returncode}" +
          (f"\n{out}" if out else ""))
    if check and r.returncode != 0:
        fail(f"{argv[0]} exited with {r.returncode}")
    return r


class Uinput:
    """A virtual keyboard, as vscanoutd makes them for a vGPU."""

    def __init__(self, name):
        self.fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_KEY)
        fcntl.ioctl(self.fd, UI_SET_KEYBIT, KEY_A)
        setup = struct.pack("HHHH80sI", 0x06, 0x1234, 0x5678, 1, name.encode(), 0)
        fcntl.ioctl(self.fd, UI_DEV_SETUP, setup)
        fcntl.ioctl(self.fd, UI_DEV_CREATE)
        size = 64
        sysname = fcntl.ioctl(self.fd, (2 << 30) | (size << 16) | (ord("U") << 8) | 44,
                              bytes(size))
        self.sys = "/sys/devices/virtual/input/" + sysname.split(b"\0")[0].decode()
        events = glob.glob(self.sys + "/event*")
        if len(events) != 1:
            fail(f"{name}: no event node under {self.sys}")
        self.node = "/dev/input/" + os.path.basename(events[0])
        self.name = name

    def check(self, ruled):
        """The rule applied (ruled) or not: the node's group, libinput's property."""
        st = os.stat(self.node)
        props = run(["udevadm", "info", "--query=property", "--name=" + self.node]).stdout
        ignored = "LIBINPUT_IGNORE_DEVICE=1" in props.splitlines()
        group = grp.getgrgid(st.st_gid).gr_name
        print(f"{self.name}: {self.node} group {group}, mode {st.st_mode & 0o777:o}, "
              f"LIBINPUT_IGNORE_DEVICE {'set' if ignored else 'unset'}")
        if ruled and (group != "root" or not ignored):
            fail(f"{self.name}: the udev rule does not apply to {self.node}")
        if not ruled and (group != "input" or ignored):
            fail(f"{self.name}: {self.node} is not as udev's default rules make it")


def unit_settings(path):
    """The [Service] assignments of a unit file: key -> list of values."""
    settings, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def kiosk_config(readme):
    """The README's kiosk configuration, adapted to the test bed."""
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^### A kiosk\n.*?^```ini\n(.*?)^```", text, re.S | re.M)
    if not m:
        fail(f"{readme}: no ini block in section 'A kiosk'")
    conf = m.group(1)
    outputs = re.findall(r"^\[output (\S+)\]", conf, re.M)
    if len(outputs) != 1:
        fail(f"the kiosk configuration names {len(outputs)} outputs, not one")
    conf = conf.replace(outputs[0], "Virtual-1")
    # Its monitor is off at night; the test wants it lit whatever the hour.
    now = time.localtime()
    start = (now.tm_hour + 2) % 24
    conf, n = re.subn(r"^blank-schedule = \S+", f"blank-schedule = {start:02d}:00-"
                      f"{(start + 1) % 24:02d}:00", conf, flags=re.M)
    if n != 1:
        fail("the kiosk configuration has no blank-schedule to move")
    users = re.findall(r"^allow-uid = (\S+)", conf, re.M)
    return conf, users


class Notify:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(path)
        self.path = path

    def wait_for(self, proc, what):
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            ready, _, _ = select.select([self.sock], [], [], 0.2)
            if ready:
                msg = self.sock.recv(4096).decode()
                print(f"notify: {msg.strip()}")
                if what in msg.split("\n"):
                    return
            elif proc.poll() is not None:
                fail(f"vscanoutd exited with {proc.returncode} before {what}")
        fail(f"no {what} from vscanoutd within {TIMEOUT:.0f} s")


def statuses():
    """Each package's dpkg status ('' when dpkg knows it not)."""
    r = run(["dpkg-query", "-W", "-f=${Package} ${Status}\n"] + PACKAGES, check=False)
    known = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    return {pkg: known.get(pkg, "") for pkg in PACKAGES}


def install(deb_dir):
    debs = []
    for pkg in PACKAGES:
        found = glob.glob(os.path.join(deb_dir, f"{pkg}_*.deb"))
        if len(found) != 1:
            fail(f"{len(found)} {pkg}_*.deb in {deb_dir}, want 1: build the packages first "
                 f"with tools/build-deb {os.path.dirname(os.path.normpath(deb_dir))} "
                 "(tools/test does so before the vm suite)")
        debs += found
    start_udevd()

    # The guest is the host's system: begin from a system without them.
    installed = statuses()
    if any(installed.values()):
        run(["dpkg", "--purge"] + PACKAGES[::-1])
    for group in ("vscanout", "vscanout-admin"):
        try:
            grp.getgrnam(group)
            run(["groupdel", group])
        except KeyError:
            pass
    if os.path.exists(UNIT):
        fail(f"{UNIT} exists before the installation")
    # No man page index rebuilt in the guest (man-db's trigger), for time.
    if os.path.exists("/var/lib/man-db/auto-update"):
        os.unlink("/var/lib/man-db/auto-update")

    early = Uinput("vscanout early keyboard")
    other = Uinput("test bed keyboard")
    run(["udevadm", "settle"])
    early.check(ruled=False)
    other.check(ruled=False)

    run(["dpkg", "-i"] + debs)
    for pkg, status in statuses().items():
        if status != "install ok installed":
            fail(f"{pkg}: {status or 'not installed'}")

    # The groups, as the sysusers.d file names them.
    sysusers = "/usr/lib/sysusers.d/vscanout.conf"
    groups = [line.split()[1] for line in open(sysusers, encoding="utf-8")
              if line.startswith("g ")]
    if sorted(groups) != ["vscanout", "vscanout-admin"]:
        fail(f"{sysusers} names the groups {groups}")
    for group in groups:
        try:
            g = grp.getgrnam(group)
        except KeyError:
            fail(f"group {group} was not made at the installation")
        print(f"group {group}: gid {g.gr_gid}")
        if g.gr_gid >= 1000:
            fail(f"group {group} is no system group (gid {g.gr_gid})")

    # The units: installed, enabled nowhere (the template neither).
    for unit in (UNIT, "/lib/systemd/system/vscanoutd@.service"):
        if not os.path.isfile(unit):
            fail(f"{unit} is not installed")
    links = glob.glob("/etc/systemd/system/**/vscanoutd*", recursive=True)
    if links:
        fail(f"units enabled at the installation: {links}")
    for path in ("/lib/udev/rules.d/70-vscanout.rules", "/usr/share/man/man8/vscanoutd.8.gz",
                 "/usr/share/vscanout/protocol/vscanout-v1.xml",
                 "/usr/share/pkgconfig/vscanout.pc", "/usr/bin/vscanout-sim-vmm",
                 "/etc/vscanout/vscanout.conf.sample"):
        if not os.path.exists(path):
            fail(f"{path} is not installed")

    # udevd has the rule: applied to the device that was there, and to a new one.
    run(["udevadm", "settle"])
    early.check(ruled=True)
    other.check(ruled=False)
    late = Uinput("vscanout late keyboard")
    run(["udevadm", "settle"])
    late.check(ruled=True)
    for dev in (early, other, late):
        fcntl.ioctl(dev.fd, UI_DEV_DESTROY)
        os.close(dev.fd)


def start_service(readme):
    conf, users = kiosk_config(readme)
    for user in users:
        # As the README makes it (a user of the host's of that name is replaced).
        if run(["getent", "passwd", user], check=False).returncode == 0:
            run(["userdel", user])
        run(["useradd", "--system", "--no-create-home", "--groups", "vscanout", user])
    os.makedirs(os.path.dirname(CONF), exist_ok=True)
    with open(CONF, "w", encoding="utf-8") as f:
        f.write(conf)
    print(f"--- {CONF}\n{conf}---")
    run(["/usr/sbin/vscanoutd", "--check-config", "-c", CONF])

    s = unit_settings(UNIT)
    for key in s:
        if any("%" in v for v in s[key]):
            fail(f"{UNIT}: {key}= has a specifier this test does not expand")
    argv = shlex.split(s["ExecStart"][-1])
    print(f"{os.path.basename(UNIT)}: ExecStart={shlex.join(argv)}")
    if s.get("Type") != ["notify"]:
        fail(f"{UNIT} is not Type=notify")
    gid = grp.getgrnam(s["Group"][-1]).gr_gid
    umask = int(s.get("UMask", ["0022"])[-1], 8)
    nofile = int(s["LimitNOFILE"][-1]) if "LimitNOFILE" in s else None
    for rd in s.get("RuntimeDirectory", []):
        for name in rd.split():
            path = os.path.join("/run", name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, int(s.get("RuntimeDirectoryMode", ["0755"])[-1], 8))

    tmp = tempfile.mkdtemp(prefix="vscanout-package-")
    notify = Notify(os.path.join(tmp, "notify"))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "LANG": "C.UTF-8",
           "NOTIFY_SOCKET": notify.path}
    for assignment in s.get("Environment", []):
        for kv in shlex.split(assignment):
            key, value = kv.split("=", 1)
            env[key] = value

    def as_the_unit():
        os.setgroups([])
        os.setgid(gid)
        os.umask(umask)
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL,
                            preexec_fn=as_the_unit)
    try:
        notify.wait_for(proc, "READY=1")
        print(f"READY=1 after {time.monotonic() - start:.1f} s")

        sock = "/run/vscanout/vscanout-0"
        st = os.stat(sock)
        print(f"{sock}: uid {st.st_uid} gid {st.st_gid} mode {st.st_mode & 0o777:o}")
        if st.st_uid != 0 or st.st_gid != gid or st.st_mode & 0o777 != 0o660:
            fail(f"{sock} is not root:vscanout 0660")

        run(["/usr/bin/vscanoutctl", "status"])
        status = json.loads(run(["/usr/bin/vscanoutctl", "status", "--json"]).stdout)
        outputs = {o["name"]: o for o in status["outputs"]}
        out = outputs.get("Virtual-1")
        if not out or out["state"] != "on" or out.get("blanked"):
            fail(f"Virtual-1 is not lit: {out}")
        if out.get("rotation") != 90:
            fail(f"Virtual-1's rotation is {out.get('rotation')}, not the kiosk's 90")

        reload = shlex.split(s["ExecReload"][-1].replace("$MAINPID", str(proc.pid)))
        run(reload)
        notify.wait_for(proc, "RELOADING=1")
        notify.wait_for(proc, "READY=1")

        proc.send_signal(signal.SIGTERM)
        notify.wait_for(proc, "STOPPING=1")
        rc = proc.wait(timeout=TIMEOUT)
        if rc != 0:
            fail(f"vscanoutd exited with {rc} after SIGTERM")
        print("vscanoutd stopped with status 0")
    finally:
        if proc.poll() is None:
            proc.kill()


def start_udevd():
    """udevd for the maintainer scripts, with the cards and input devices known.

    (The bed's --udev would replay every device's events: slower.)"""
    udevd = next(p for p in ("/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd")
                 if os.path.exists(p))
    run([udevd, "--daemon"])
    run(["udevadm", "trigger", "--action=add", "--subsystem-match=drm",
         "--subsystem-match=input", "--subsystem-match=misc"])
    run(["udevadm", "settle"])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    deb_dir, readme = sys.argv[1:]
    with open("/proc/uptime") as f:
        print(f"guest up for {float(f.read().split()[0]):.1f} s")
    install(deb_dir)
    start_service(readme)

    run(["dpkg", "--purge"] + PACKAGES[::-1])
    for path in ("/usr/sbin/vscanoutd", UNIT, "/etc/vscanout/vscanout.conf.sample"):
        if os.path.exists(path):
            fail(f"{path} is left after the purge")
    print("ok")


if __name__ == "__main__":
    main()
