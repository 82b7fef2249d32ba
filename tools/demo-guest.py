#!/usr/bin/env python3
"""The guest half of tools/demo: runs inside the test VM, as root.

Starts vscanoutd on a two-head virtio-gpu with one vGPU per head, connects
one vscanout-sim-vmm to each vGPU (the right one with a cursor), and once
both show their animation takes a screendump of each head through the VM's
QMP monitor (VM_QMP). The screendumps land in VM_ARTEFACTS, where the
runner turns them into PNG files.

Usage: demo-guest.py BUILD_DIR
"""

import glob
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile

FRAMES_BEFORE_DUMP = 90  # let the animation run for a moment first
TIMEOUT_S = 60


def die(msg):
    print(f"demo: {msg}", file=sys.stderr)
    sys.exit(1)


def virtio_card():
    for path in sorted(glob.glob("/sys/class/drm/card[0-9]*")):
        if "-" in os.path.basename(path):
            continue
        # The card's parent is the PCI device; virtio_gpu drives the
        # virtio device below it.
        drivers = glob.glob(os.path.join(path, "device", "virtio*", "driver"))
        if any(os.path.basename(os.path.realpath(d)) == "virtio_gpu" for d in drivers):
            return os.path.basename(path)
    die("no virtio-gpu card (run through tests/vm/run --virtio-gpu 2)")


def qmp(chan, command, arguments=None):
    msg = {"execute": command}
    if arguments is not None:
        msg["arguments"] = arguments
    os.write(chan, (json.dumps(msg) + "\n").encode())
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(chan, 4096)
        if not chunk:
            die("QMP channel closed")
        line += chunk
    reply = json.loads(line)
    if "return" not in reply:
        die(f"QMP {command}: {reply}")


def main():
    build = os.path.abspath(sys.argv[1])
    artefacts = os.environ["VM_ARTEFACTS"]
    card = virtio_card()
    with open(f"/sys/class/drm/{card}-Virtual-2/status", "w") as f:
        f.write("on")

    work = tempfile.mkdtemp(prefix="vscanout-demo-")
    sock = os.path.join(work, "vscanout-0")
    conf = os.path.join(work, "vscanout.conf")
    with open(conf, "w") as f:
        f.write(f"[daemon]\nsocket = {sock}\n"
                "[output Virtual-1]\nmode = 1024x768\nvgpu = left\nplaceholder = #203040\n"
                "[output Virtual-2]\nmode = 1024x768\nvgpu = right\nplaceholder = #402030\n")

    # vscanoutd, as a service manager would start it: READY=1 comes once
    # both heads show their first frame.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = os.path.join(work, "notify")
    notify.bind(notify_path)
    env = dict(os.environ, LIBSEAT_BACKEND="noop", NOTIFY_SOCKET=notify_path)
    daemon = subprocess.Popen([f"{build}/src/vscanoutd", "--config", conf], env=env)
    ready, _, _ = select.select([notify], [], [], TIMEOUT_S)
    if not ready or b"READY=1" not in notify.recv(4096):
        die("vscanoutd did not become ready")
    print("demo: vscanoutd is ready, the heads show their placeholders")

    sims = {}
    for vgpu, extra in (("left", []), ("right", ["--cursor"])):
        sims[vgpu] = subprocess.Popen(
            [f"{build}/tools/vscanout-sim-vmm/vscanout-sim-vmm", "--socket", sock,
             "--vgpu", vgpu, "--trace"] + extra,
            stdout=subprocess.PIPE, text=True)
    for vgpu, sim in sims.items():
        presented = 0
        while presented < FRAMES_BEFORE_DUMP:
            line = sim.stdout.readline()
            if not line:
                die(f"vscanout-sim-vmm on {vgpu} ended early")
            presented += line.startswith("presented ")
        print(f"demo: {vgpu}: {presented} frames presented")

    chan = os.open(os.environ["VM_QMP"], os.O_RDWR | os.O_NOCTTY)
    qmp(chan, "qmp_capabilities")
    for head in (0, 1):
        path = os.path.join(artefacts, f"head{head}.ppm")
        qmp(chan, "screendump", {"filename": path, "device": "gpu0", "head": head})
    os.close(chan)

    for vgpu, sim in sims.items():
        sim.send_signal(signal.SIGINT)
        out, _ = sim.communicate(timeout=TIMEOUT_S)
        stats = [l for l in out.splitlines() if not l.startswith(("presented ", "commit ",
                                                                   "vblank ", "release ",
                                                                   "discarded "))]
        print(f"demo: {vgpu}:", *stats, sep="\n  ")
    daemon.send_signal(signal.SIGTERM)
    if daemon.wait(timeout=TIMEOUT_S) != 0:
        die(f"vscanoutd exited with {daemon.returncode}")
    print("demo: vscanoutd stopped cleanly")


if __name__ == "__main__":
    main()
