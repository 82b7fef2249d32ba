#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bash completion of vscanoutctl and vscanoutd against a running vscanoutd.

usage: completion.py VSCANOUTD VSCANOUTCTL COMPLETION-DIR

In the VM test bed on vkms: vscanoutd runs with one output (Virtual-1)
showing two vGPUs, and a third vGPU shown nowhere, its socket outside the
default places. Once it reports READY=1 on its notify socket, bash sources
COMPLETION-DIR/vscanoutctl and COMPLETION-DIR/vscanoutd (with
bash-completion's helpers loaded, as an interactive shell has them, and
without), is given COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT as
bash sets them and calls the completion function; COMPREPLY must hold:

  - the commands after vscanoutctl, the options after "-";
  - the daemon's output after "screenshot", "blank", "assign VGPU"; its
    vGPUs after "assign", asked on the socket given by -s/--socket;
  - nothing, quietly, on a socket nobody listens on;
  - vscanoutd's options, and files for -c.

The daemon's names are checked against `vscanoutctl list`, which must
print exactly them.
"""
import os
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

DEADLINE_S = 60
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

CONFIG = """[daemon]
socket = {socket}
[output Virtual-1]
mode = 1024x768
vgpu = kiosk-a, kiosk-b
[vgpu kiosk-a]
allow-uid = root
[vgpu kiosk-b]
allow-uid = root
[vgpu spare]
allow-uid = root
"""

failed = 0


def check(ok, what, detail=""):
    global failed
    if ok:
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAIL: {what} {detail}")


def start_daemon(vscanoutd, config, tmp):
    notify_path = os.path.join(tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    notify.bind(notify_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, LIBSEAT_BACKEND="noop")
    env.pop("JOURNAL_STREAM", None)
    log = open(os.path.join(os.environ.get("VM_ARTEFACTS", tmp), "vscanoutd.log"), "w")
    daemon = subprocess.Popen([vscanoutd, "-c", config], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    ready = False
    while not ready:
        r, _, _ = select.select([notify], [], [], DEADLINE_S)
        if not r:
            daemon.kill()
            sys.exit("FAIL: vscanoutd did not report READY=1 within "
                     f"{DEADLINE_S} s (see vscanoutd.log)")
        ready = "READY=1" in notify.recv(4096).decode().split("\n")
    notify.close()
    return daemon


def complete(script_dir, words, cword=None, helpers=True, env=None):
    """COMPREPLY of completing words (the last one the word at the cursor)."""
    cword = len(words) - 1 if cword is None else cword
    line = " ".join(words)
    command = os.path.basename(words[0])
    script = ""
    if helpers:
        script += f"source {shlex.quote(BASH_COMPLETION)}\n"
    script += (
        f"source {shlex.quote(os.path.join(script_dir, command))}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={cword}\n"
        f"COMP_LINE={shlex.quote(line)}\n"
        f"COMP_POINT={len(line)}\n"
        f"_{command} {shlex.quote(words[0])} {shlex.quote(words[cword])} "
        f"{shlex.quote(words[cword - 1])}\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, env=env, timeout=30, check=False)
    if r.returncode != 0 or r.stderr:
        print(f"  bash: exit {r.returncode}, stderr: {r.stderr.strip()}")
        return None
    return [w for w in r.stdout.split("\n") if w]


def main(argv):
    if len(argv) != 4:
        print("usage: completion.py VSCANOUTD VSCANOUTCTL COMPLETION-DIR", file=sys.stderr)
        return 2
    vscanoutd, vscanoutctl, script_dir = argv[1:]
    tmp = tempfile.mkdtemp(prefix="vscanout-completion-")
    sock = os.path.join(tmp, "vscanout-test")
    config = os.path.join(tmp, "vscanout.conf")
    with open(config, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(socket=sock))
    for name in ("kiosk.conf", "other.txt"):
        open(os.path.join(tmp, name), "w", encoding="utf-8").close()

    daemon = start_daemon(vscanoutd, config, tmp)
    try:
        outputs = subprocess.run([vscanoutctl, "-s", sock, "list", "outputs"],
                                 capture_output=True, text=True, check=False)
        vgpus = subprocess.run([vscanoutctl, "--socket", sock, "list", "vgpus"],
                               capture_output=True, text=True, check=False)
        check(outputs.returncode == 0 and outputs.stdout == "Virtual-1\n",
              "vscanoutctl list outputs: Virtual-1", repr(outputs))
        check(vgpus.returncode == 0 and vgpus.stdout == "kiosk-a\nkiosk-b\nspare\n",
              "vscanoutctl list vgpus: kiosk-a, kiosk-b, spare", repr(vgpus))
        bad = subprocess.run([vscanoutctl, "-s", sock, "list", "planes"],
                             capture_output=True, text=True, check=False)
        check(bad.returncode != 0 and "outputs or vgpus" in bad.stderr,
              "vscanoutctl list planes is refused", repr(bad))

        # PATH without the build: the completion runs the vscanoutctl typed.
        ctl = vscanoutctl
        commands = ["status", "screenshot", "blank", "unblank", "reload", "assign",
                    "debugfs", "list"]
        for helpers in (True, False):
            mode = "with bash-completion" if helpers else "plain bash"
            c = lambda words, **kw: complete(script_dir, words, helpers=helpers, **kw)
            got = c([ctl, ""])
            check(got is not None and sorted(got) == sorted(commands),
                  f"{mode}: commands", f"got {got}")
            got = c([ctl, "-s", sock, "as"])
            check(got == ["assign"], f"{mode}: a command's start after -s PATH", f"got {got}")
            got = c([ctl, "--"])
            check(got is not None and sorted(got) == ["--help", "--socket", "--version"],
                  f"{mode}: options", f"got {got}")
            got = c([ctl, "-s", sock, "screenshot", ""])
            check(got == ["Virtual-1"], f"{mode}: screenshot OUTPUT", f"got {got}")
            got = c([ctl, "--socket", sock, "blank", "Vir"])
            check(got == ["Virtual-1"], f"{mode}: blank OUTPUT", f"got {got}")
            got = c([ctl, "-s", sock, "assign", ""])
            check(got is not None and sorted(got) == ["kiosk-a", "kiosk-b", "spare"],
                  f"{mode}: assign VGPU", f"got {got}")
            got = c([ctl, "-s", sock, "assign", "kiosk-b", ""])
            check(got == ["Virtual-1"], f"{mode}: assign VGPU OUTPUT", f"got {got}")
            got = c([ctl, "-s", sock, "assign", "k"])
            check(got is not None and sorted(got) == ["kiosk-a", "kiosk-b"],
                  f"{mode}: assign k...", f"got {got}")
            got = c([ctl, "-s", sock, "status", ""])
            check(got == ["--json"], f"{mode}: status --json", f"got {got}")
            got = c([ctl, "-s", sock, "list", ""])
            check(got is not None and sorted(got) == ["outputs", "vgpus"],
                  f"{mode}: list outputs|vgpus", f"got {got}")
            # The default socket from the environment.
            env = dict(os.environ, VSCANOUT_SOCKET=sock)
            got = c([ctl, "screenshot", ""], env=env)
            check(got == ["Virtual-1"], f"{mode}: screenshot OUTPUT on $VSCANOUT_SOCKET",
                  f"got {got}")
            got = c([ctl, "-s", os.path.join(tmp, "nobody"), "blank", ""])
            check(got == [], f"{mode}: no daemon: nothing, quietly", f"got {got}")

            d = os.path.join(os.path.dirname(vscanoutd), "vscanoutd")
            got = c([d, "--c"])
            check(got is not None and sorted(got) == ["--check-config", "--config"],
                  f"{mode}: vscanoutd options", f"got {got}")
            got = c([d, "-c", os.path.join(tmp, "ki")])
            check(got == [os.path.join(tmp, "kiosk.conf")], f"{mode}: vscanoutd -c FILE",
                  f"got {got}")
    finally:
        daemon.terminate()
        status = daemon.wait(timeout=DEADLINE_S)
        check(status == 0, "vscanoutd stopped by SIGTERM with status 0", f"status {status}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
