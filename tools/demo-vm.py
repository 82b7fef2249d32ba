#!/usr/bin/env python3
"""The VM half of tools/demo: runs inside the demo's VM, as root.

Three monitors, three mediated vGPUs: vkms (Virtual-1) and a two-head
virtio-gpu (Virtual-2, Virtual-3), and three mbochs mdevs. vscanoutd runs
with data/vscanout-demo.conf, one vGPU per monitor; one vscanout-sim-vmm per
vGPU opens its mdev as a VMM does, hands the VFIO device to vscanoutd and
plays the guest's bochs display driver, animating a picture of its own
(--pattern) by panning. vscanoutd reads the guest planes itself: on vkms it
scans the guest's dma-buf out directly, on virtio-gpu (which cannot import
it) it copies.

After about five seconds it takes a picture of each monitor (Virtual-1
through vkms' writeback connector with vscanoutctl, the virtio-gpu heads
through the VM's QMP monitor: what the emulated monitors show on the host),
reads vscanoutd's status twice with vscanoutctl, stops everything (SIGTERM
to the VMMs, which release their devices, then to vscanoutd; the mdevs are
removed last) and writes report.txt. Everything lands in VM_ARTEFACTS; the
runner turns the screendumps (.ppm) into PNG files.

Usage: demo-vm.py BUILD_DIR CONFIG
"""

import glob
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid

OUTPUTS = ("Virtual-1", "Virtual-2", "Virtual-3")
VGPUS = ("demo-a", "demo-b", "demo-c")
MDEV_TYPE = "/sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-medium"
SOCKET = "/run/vscanout/vscanout-0"  # [daemon] socket= of the configuration
WARM_UP_S = 1.5  # before the first status: every guest shows its animation
MEASURE_S = 3.5  # between the two status snapshots the figures come from
TIMEOUT_S = 60


class DemoError(Exception):
    pass


def log(msg):
    print(f"demo: {msg}", flush=True)


def write_sysfs(path, text):
    with open(path, "w") as f:
        f.write(text)


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def card_driver(card):
    device = os.path.join("/sys/class/drm", card, "device")
    # virtio-gpu's card hangs off the PCI device; virtio_gpu drives the
    # virtio device below it.
    for link in glob.glob(os.path.join(device, "virtio*", "driver")):
        return os.path.basename(os.path.realpath(link))
    link = os.path.join(device, "driver")
    if os.path.exists(link):
        return os.path.basename(os.path.realpath(link))
    # vkms' platform device has no driver; its name says it.
    return os.path.basename(os.path.realpath(device))


def connectors():
    """Connector name -> (card, driver) for every KMS connector."""
    found = {}
    for path in sorted(glob.glob("/sys/class/drm/card[0-9]*-*")):
        card, name = os.path.basename(path).split("-", 1)
        found[name] = (card, card_driver(card))
    return found


def check_monitors():
    found = connectors()
    want = {"Virtual-1": "vkms", "Virtual-2": "virtio_gpu", "Virtual-3": "virtio_gpu"}
    for name, driver in want.items():
        if name not in found or found[name][1] != driver:
            have = ", ".join(f"{n} ({c}, {d})" for n, (c, d) in found.items()) or "none"
            raise DemoError(f"expected {name} on {driver}; the VM has: {have}")
    # Heads beyond the first start disconnected.
    card = found["Virtual-3"][0]
    write_sysfs(f"/sys/class/drm/{card}-Virtual-3/status", "on")
    return found


def qmp_screendump(path, head):
    chan = os.open(os.environ["VM_QMP"], os.O_RDWR | os.O_NOCTTY)
    try:
        msg = {"execute": "screendump",
               "arguments": {"filename": path, "device": "gpu0", "head": head}}
        os.write(chan, (json.dumps(msg) + "\n").encode())
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(chan, 4096)
            if not chunk:
                raise DemoError("the QMP channel closed")
            line += chunk
    finally:
        os.close(chan)
    reply = json.loads(line)
    if "return" not in reply:
        raise DemoError(f"QMP screendump of head {head}: {reply}")


class Demo:
    def __init__(self, build, config, artefacts):
        self.build = build
        self.config = config
        self.artefacts = artefacts
        self.ctl = os.path.join(build, "src", "ctl", "vscanoutctl")
        self.mdevs = []  # created here, removed at the end
        self.daemon = None
        self.sims = {}  # vGPU -> Popen
        self.notes = []  # what could not be done, for the report

    # ---- pieces -------------------------------------------------------

    def create_mdevs(self):
        if not os.path.isdir(MDEV_TYPE):
            raise DemoError(f"{MDEV_TYPE} is missing: are vfio_iommu_type1, mdev and "
                            "mbochs loaded?")
        for _ in VGPUS:
            u = str(uuid.uuid4())
            write_sysfs(os.path.join(MDEV_TYPE, "create"), u)
            self.mdevs.append(u)
        log(f"created three mbochs-medium mdevs: {', '.join(self.mdevs)}")

    def start_daemon(self):
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join("/run", "vscanout-demo-notify")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        notify.bind(notify_path)
        env = dict(os.environ, LIBSEAT_BACKEND="noop", NOTIFY_SOCKET=notify_path)
        self.daemon_log = os.path.join(self.artefacts, "vscanoutd.log")
        with open(self.daemon_log, "w") as out:
            self.daemon = subprocess.Popen(
                [os.path.join(self.build, "src", "vscanoutd"), "--config", self.config],
                env=env, stdout=out, stderr=subprocess.STDOUT)
        # READY=1 comes once every output shows its first frame.
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([notify], [], [], 0.2)
            if ready and b"READY=1" in notify.recv(4096):
                notify.close()
                log("vscanoutd is ready: the three monitors show their placeholders")
                return
            if self.daemon.poll() is not None:
                break
        notify.close()
        raise DemoError("vscanoutd did not become ready:\n" + tail(self.daemon_log))

    def start_sims(self):
        sim = os.path.join(self.build, "tools", "vscanout-sim-vmm", "vscanout-sim-vmm")
        for i, (vgpu, mdev) in enumerate(zip(VGPUS, self.mdevs)):
            path = os.path.join(self.artefacts, f"sim-{vgpu}.log")
            with open(path, "w") as out:
                self.sims[vgpu] = subprocess.Popen(
                    [sim, "--socket", SOCKET, "--vgpu", vgpu, "--vfio-mdev", mdev, "--guest",
                     "--pattern", str(i + 1)],
                    stdout=out, stderr=subprocess.STDOUT)
        # Each says "vGPU NAME shows mdev UUID (dmabuf planes)" once vscanoutd
        # took the device; the guest's mode set follows at once.
        deadline = time.monotonic() + TIMEOUT_S
        waiting = set(VGPUS)
        while waiting and time.monotonic() < deadline:
            for vgpu in sorted(waiting):
                path = os.path.join(self.artefacts, f"sim-{vgpu}.log")
                if " shows mdev " in tail(path, 50):
                    waiting.discard(vgpu)
                elif self.sims[vgpu].poll() is not None:
                    raise DemoError(f"vscanout-sim-vmm of {vgpu} ended with status "
                                    f"{self.sims[vgpu].returncode}:\n{tail(path)}")
            time.sleep(0.1)
        if waiting:
            raise DemoError(f"no answer to set_vfio_device for {', '.join(sorted(waiting))}")
        for vgpu in VGPUS:
            log(tail(os.path.join(self.artefacts, f"sim-{vgpu}.log"), 1).strip()
                .removeprefix("vscanout-sim-vmm: "))

    def vscanoutctl(self, *args):
        """Run vscanoutctl; returns its stdout, or None after saying why not."""
        if not os.access(self.ctl, os.X_OK):
            self.note(f"vscanoutctl is not built ({self.ctl})")
            return None
        try:
            done = subprocess.run([self.ctl, "--socket", SOCKET, *args], capture_output=True,
                                  text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.note(f"vscanoutctl {' '.join(args)} did not answer within 30 s")
            return None
        if done.returncode != 0:
            err = done.stderr.strip() or f"status {done.returncode}"
            self.note(f"vscanoutctl {' '.join(args)} failed: {err}")
            return None
        return done.stdout

    def note(self, msg):
        if msg not in self.notes:
            log(msg)
            self.notes.append(msg)

    def status(self):
        """vscanoutd's status document, or None (said why)."""
        text = self.vscanoutctl("status", "--json")
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            self.note("vscanoutctl status --json printed no JSON document "
                      f"({len(text)} bytes): is vscanoutctl complete?")
            return None
        if not isinstance(doc, dict) or "outputs" not in doc or "vgpus" not in doc:
            self.note("vscanoutctl status --json has no outputs and vgpus")
            return None
        return doc

    def screenshots(self):
        shots = {}
        path = os.path.join(self.artefacts, "Virtual-1.png")
        # vkms composes the picture while the writeback job runs (about
        # 0.1 s under TCG), from the guest's frame on screen. A guest that
        # kept drawing meanwhile would reach that frame again and tear the
        # capture, since it cannot know when the host shows which frame:
        # pause it, give vscanoutd a few refreshes to show its last frame,
        # and let it go on afterwards.
        guest = self.sims[VGPUS[0]]
        guest.send_signal(signal.SIGSTOP)
        try:
            time.sleep(0.15)
            taken = self.vscanoutctl("screenshot", "Virtual-1", path)
        finally:
            guest.send_signal(signal.SIGCONT)
        if taken is not None:
            try:
                with open(path, "rb") as f:
                    ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
            except OSError:
                ok = False
            if ok:
                shots["Virtual-1"] = ("vscanoutctl screenshot (vkms writeback), its guest "
                                      "paused for the capture")
            else:
                self.note("vscanoutctl screenshot Virtual-1 wrote no PNG: "
                          "is vscanoutctl complete?")
        for head, name in enumerate(OUTPUTS[1:]):
            qmp_screendump(os.path.join(self.artefacts, f"{name}.ppm"), head)
            shots[name] = f"QMP screendump of virtio-gpu head {head}, from the host"
        return shots

    def stop_sims(self):
        summaries = {}
        for sim in self.sims.values():
            if sim.poll() is None:
                sim.send_signal(signal.SIGTERM)
        for vgpu, sim in self.sims.items():
            try:
                sim.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                sim.kill()
                sim.wait()
            text = tail(os.path.join(self.artefacts, f"sim-{vgpu}.log"), 50)
            summaries[vgpu] = (sim.returncode, text)
        self.sims = {}
        return summaries

    def stop_daemon(self):
        if self.daemon is None:
            return None
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        code, self.daemon = self.daemon.returncode, None
        return code

    def remove_mdevs(self):
        for u in self.mdevs:
            try:
                write_sysfs(f"/sys/bus/mdev/devices/{u}/remove", "1")
            except OSError as e:
                log(f"cannot remove mdev {u}: {e}")
        if self.mdevs:
            log("removed the mdevs")
        self.mdevs = []

    def cleanup(self):
        """After a failure: stop whatever still runs, then remove the mdevs."""
        for sim in self.sims.values():
            if sim.poll() is None:
                sim.send_signal(signal.SIGTERM)
        for sim in self.sims.values():
            try:
                sim.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                sim.kill()
        self.sims = {}
        self.stop_daemon()
        self.remove_mdevs()

    # ---- the run ------------------------------------------------------

    def run(self):
        check_monitors()
        self.create_mdevs()
        self.start_daemon()
        started = time.monotonic()
        self.start_sims()
        time.sleep(WARM_UP_S)
        first, t0 = self.status(), time.monotonic()
        time.sleep(MEASURE_S)
        second, t1 = self.status(), time.monotonic()
        shots = self.screenshots()
        ran = time.monotonic() - started
        if second is not None:
            with open(os.path.join(self.artefacts, "status.json"), "w") as f:
                json.dump(second, f, indent=2)
        log(f"the guests ran for {ran:.1f} s; stopping them")
        summaries = self.stop_sims()
        code = self.stop_daemon()
        self.remove_mdevs()

        failed = [v for v, (rc, _) in summaries.items() if rc != 0]
        report = make_report(first, second, t1 - t0, summaries, shots, self.notes, ran)
        with open(os.path.join(self.artefacts, "report.txt"), "w") as f:
            f.write(report)
        if code != 0:
            raise DemoError(f"vscanoutd exited with status {code}:\n{tail(self.daemon_log)}")
        if failed:
            raise DemoError("vscanout-sim-vmm failed for " + ", ".join(failed) + ":\n" +
                            "\n".join(summaries[v][1] for v in failed))
        log("vscanoutd and the VMMs stopped cleanly")
        return 0 if not self.notes else 3


# ---- the report -----------------------------------------------------------

def output_rows(first, second, seconds):
    """One row per configured output from two status documents."""
    by_name = {o["name"]: o for o in second["outputs"]}
    before = {o["name"]: o for o in first["outputs"]} if first else {}
    vgpu_of = {}
    for v in second["vgpus"]:
        for out in v.get("outputs", []):
            vgpu_of[out] = v
    rows = []
    for name in OUTPUTS:
        out, vgpu = by_name.get(name), vgpu_of.get(name)
        if out is None:
            rows.append((name, "-", "missing from the status", "", "", "", "", ""))
            continue
        now, was = out["counters"], before.get(name, {}).get("counters", {})
        direct = now["frames_direct"] - was.get("frames_direct", 0)
        copied = now["frames_copied"] - was.get("frames_copied", 0)
        flips = (now["flips_vsync"] + now["flips_async"] -
                 was.get("flips_vsync", 0) - was.get("flips_async", 0))
        vfio = (vgpu or {}).get("vfio") or {}
        p50, p99 = vfio.get("latency_p50_us", 0), vfio.get("latency_p99_us", 0)
        rows.append((name, vgpu["name"] if vgpu else "-",
                     vgpu["source"] if vgpu else "-", str(direct), str(copied),
                     f"{flips / seconds:.1f}" if seconds > 0 else "-",
                     f"{p50 / 1000:.1f} ms" if p50 else "-",
                     f"{p99 / 1000:.1f} ms" if p99 else "-"))
    return rows


def sim_line(vgpu, rc, text):
    figures = dict(line.split(": ", 1) for line in text.splitlines()
                   if ": " in line and not line.startswith("vscanout-sim-vmm"))
    if rc != 0:
        return f"{vgpu}: failed (status {rc})"
    return (f"{vgpu}: {figures.get('guest frames drawn', '?')} frames drawn, "
            f"{figures.get('guest frames per second', '?')} per second, "
            f"{figures.get('vblanks without a new frame', '?')} vblanks without a new frame; "
            "device released")


def make_report(first, second, seconds, summaries, shots, notes, ran):
    lines = ["vscanout demo: three mbochs vGPUs shown through VFIO by vscanoutd",
             f"the guests ran for {ran:.1f} s", ""]
    if second is not None:
        lines.append(f"per output, over {seconds:.1f} s "
                     "(frames and flips between two status snapshots):")
        head = ("output", "vgpu", "source", "direct", "copied", "flips/s",
                "latency p50", "p99")
        rows = [head] + output_rows(first, second, seconds)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                          for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        lines += ["  direct: frames scanned out from the guest's own dma-buf (zero-copy);",
                  "  copied: frames copied into a scanout buffer first (virtio-gpu cannot",
                  "  import a dma-buf); latency: from the poll that saw the guest's new",
                  "  frame to the flip that showed it (the vGPU's VFIO source)."]
    else:
        lines.append("no figures from vscanoutd: its status could not be read")
    lines += ["", "guests (vscanout-sim-vmm --vfio-mdev --guest):"]
    lines += ["  " + sim_line(v, rc, text) for v, (rc, text) in summaries.items()]
    lines += ["", "pictures:"]
    for name in OUTPUTS:
        how = shots.get(name)
        lines.append(f"  {name}.png: {how}" if how else f"  {name}: none")
    if notes:
        lines += ["", "not done:"] + [f"  {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    build, config = (os.path.abspath(a) for a in sys.argv[1:3])
    demo = Demo(build, config, os.environ["VM_ARTEFACTS"])
    try:
        return demo.run()
    except DemoError as e:
        print(f"demo: {e}", file=sys.stderr, flush=True)
    except Exception:
        traceback.print_exc()
    demo.cleanup()
    return 1


if __name__ == "__main__":
    sys.exit(main())
