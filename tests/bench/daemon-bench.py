#!/usr/bin/env python3
"""vscanoutd's cost per frame, counted by callgrind in the VM test bed.

    daemon-bench.py VSCANOUTD SIM-VMM BENCH-KMS [FRAMES]

On vkms at 1920x1080 with writeback and CRC off (vkms then composes
nothing), the whole daemon runs under callgrind with one, two and four
vGPUs on output Virtual-1, each vGPU a vscanout-sim-vmm of its own with
udmabuf buffers the size of its region (the whole output; two columns of
960x1080; a grid of four 960x540), so that each can have a plane of its
own. Every sim commits a frame only once its previous one is presented
(--pace timer: at most one per refresh, no vblank ticks fd, so the daemon
runs no vblank clock) and draws nothing per frame (--still). The single
vGPU runs once more paced by its vblank ticks fd (--pace vblank), which
adds the daemon's vblank clock to each frame.

What is counted, and why this way: the daemon starts with callgrind's
instrumentation off (--instr-atstart=no), so nothing of its start-up, the
sims' attach, the buffers' first import and the first placements is
counted. Once every sim has had WARMUP frames presented,
`callgrind_control -i on` switches instrumentation on; once the first sim
has had FRAMES more, `callgrind_control -i off` switches it off again.
Everything the daemon executes in between is counted: the client's commit
request read from its socket, the vGPU core, the placement and the atomic
commit, the flip event, the presented and release events and their flush,
the loop itself. Toggling collection on the loop's dispatch function would
count the same path, but also every dispatch of the start-up. The window
starts and ends wherever the daemon happens to be (almost always asleep in
epoll_wait); the frames in it are counted exactly from the same profile,
as the calls of the KMS flip handler (FLIP_HANDLER): one per output frame.

The floor is tests/kms/bench's bare atomic flip loop at the same mode in
the same boot (callgrind collecting inside its run_frames() only).

Prints, per case,
    daemon N vgpu(s): X instr/frame; bare flip loop: Y instr/frame; ratio X/Y
where a frame is an output frame (a flip, however many vGPUs' new frames
it shows), then the instructions per vGPU frame presented (counted as the
buffers released, RELEASE_HANDLER: one per frame presented in a steady
stream), or "skipped: ..." when this build refuses the configuration
(vscanoutd --check-config); then, for one vGPU, where the instructions go:
the calls from the main loop, the self cost of each object (vscanoutd,
libwayland-server, libffi, libdrm, libliftoff, libc) and the functions
costing most, inclusive and self, all per frame. Fails only when something
did not run or no frame was counted, never on a figure. Profiles and logs
are left in $VM_ARTEFACTS.
"""

import os
import re
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1920, 1080
WARMUP = 60
# The KMS core's page-flip handler (src/kms/device.c): one call per flip.
FLIP_HANDLER = "handle_page_flip"
# The protocol's buffer release (src/protocol/buffer.c): in a steady stream
# one per vGPU frame presented, the buffer it replaced.
RELEASE_HANDLER = "handle_buffer_release"
# Other functions whose calls per frame are shown.
COUNTED = ["drmModeAtomicCommit", "drmModeAtomicAddProperty", "drmHandleEvent",
           "wl_event_loop_dispatch", "wl_resource_post_event"]
TOP = 10
# The daemon's main loop (src/daemon/daemon.c), where the call tree starts.
ROOT = "daemon_run"
DEADLINE_S = 240

CASES = [
    # (vGPUs, layout, size of each vGPU's buffers, the sims' --pace)
    (1, None, (WIDTH, HEIGHT), "timer"),
    (2, "columns", (WIDTH // 2, HEIGHT), "timer"),
    (4, "grid", (WIDTH // 2, HEIGHT // 2), "timer"),
    # The same single vGPU paced by its vblank ticks fd: what the vblank
    # clock (a sequence event queued per vblank, the eventfd) adds.
    (1, None, (WIDTH, HEIGHT), "vblank"),
]


def fail(msg):
    print(f"daemon-bench: {msg}", file=sys.stderr)
    sys.exit(1)


class Profile:
    """A callgrind output file (Ir only): totals, and per function its calls,
    self and inclusive cost. Functions are keyed by name and object, so code
    inlined from headers counts with the function it is in."""

    def __init__(self, path):
        self.total = None
        self.calls = {}  # callee name -> calls
        self.self_cost = {}  # (name, object) -> Ir
        self.inclusive = {}  # (name, object) -> Ir
        self.files = {}  # (name, object) -> source file
        self.edges = {}  # caller -> {callee: [calls, Ir]}, both (name, object)
        tables = {"fn": {}, "ob": {}, "fl": {}}
        ob = fn = call_ob = call_fn = None
        fl = ""
        after_calls = False

        def lookup(kind, spec):
            # Compressed names: "(id) name" the first time, "(id)" after that.
            m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
            if not m:
                return spec
            if m.group(2) is not None:
                tables[kind][m.group(1)] = m.group(2)
            return tables[kind].get(m.group(1), spec)

        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                key, _, value = line.partition("=")
                if key == "ob":
                    ob = call_ob = lookup("ob", value)
                elif key == "fl":
                    fl = lookup("fl", value)
                elif key in ("fi", "fe", "cfi", "cfl"):
                    lookup("fl", value)
                elif key == "fn":
                    fn = (lookup("fn", value), ob)
                    self.files.setdefault(fn, fl)
                    call_ob = ob
                elif key == "cob":
                    call_ob = lookup("ob", value)
                elif key == "cfn":
                    call_fn = lookup("fn", value)
                elif key == "calls":
                    n = int(value.split()[0])
                    self.calls[call_fn] = self.calls.get(call_fn, 0) + n
                    edge = self.edges.setdefault(fn, {}).setdefault((call_fn, call_ob), [0, 0])
                    edge[0] += n
                    after_calls = True
                elif line[:1].isdigit() or (line != "" and line[0] in "+-*"):
                    parts = line.split()
                    ir = int(parts[1]) if len(parts) > 1 else 0
                    self.inclusive[fn] = self.inclusive.get(fn, 0) + ir
                    if after_calls:
                        edge[1] += ir
                        after_calls = False
                        call_ob = ob
                    else:
                        self.self_cost[fn] = self.self_cost.get(fn, 0) + ir
                elif line.startswith("totals:") or line.startswith("summary:"):
                    self.total = int(line.split()[1])
        if self.total is None:
            fail(f"{path} has no total: did callgrind write it?")

    def label(self, fn):
        name, obj = fn
        ours = re.search(r"(src/(?:[^/]+/)?[^/]+\.[ch])$", self.files.get(fn, ""))
        where = f"{ours.group(1)}:" if ours else ""
        return f"{where}{name} [{os.path.basename(obj or '?')}]"

    def by_object(self):
        cost = {}
        for (_, obj), ir in self.self_cost.items():
            name = os.path.basename(obj or "?")
            cost[name] = cost.get(name, 0) + ir
        return sorted(cost.items(), key=lambda kv: -kv[1])


def print_tree(profile, frames, fn, depth, expanded):
    """The calls from fn costing at least 1/40 of the total. callgrind keeps
    one set of callees per function, summed over all its callers, so each
    function is expanded once only, where it is met first."""
    expanded.add(fn)
    children = sorted(profile.edges.get(fn, {}).items(), key=lambda kv: -kv[1][1])
    for callee, (calls, ir) in children:
        if ir * 40 < profile.total:
            continue
        more = " ..." if callee in expanded and profile.edges.get(callee) else ""
        print(f"    {ir / frames:10.0f}  {'  ' * depth}{profile.label(callee)}"
              f" ({calls / frames:.2g}x){more}")
        if callee not in expanded and depth < 12:
            print_tree(profile, frames, callee, depth + 1, expanded)


def print_profile(profile, frames):
    roots = [fn for fn in profile.inclusive if fn[0] == ROOT]
    if roots:
        print(f"  calls from {ROOT}, inclusive instructions per frame (calls per frame;"
              " ... expanded above):")
        print_tree(profile, frames, roots[0], 0, set())
    print("  self cost by object, instructions per frame: " +
          ", ".join(f"{obj} {ir / frames:.0f}" for obj, ir in profile.by_object()))
    for what, table in (("inclusive", profile.inclusive), ("self", profile.self_cost)):
        print(f"  top {TOP} functions by {what} cost, instructions per frame:")
        for fn, ir in sorted(table.items(), key=lambda kv: -kv[1])[:TOP]:
            print(f"    {ir / frames:10.0f}  {profile.label(fn)}")


def bare_floor(bench_kms, frames, out):
    """Instructions per frame of tests/kms/bench's bare atomic flip loop."""
    profile = os.path.join(out, "callgrind.bare")
    with open(os.path.join(out, "valgrind.bare.log"), "w") as log:
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=no",
             "--toggle-collect=run_frames", f"--callgrind-out-file={profile}",
             bench_kms, "bare", str(frames)],
            stdout=log, stderr=log, timeout=DEADLINE_S)
    if r.returncode != 0:
        fail(f"bench-kms bare failed (status {r.returncode}): see valgrind.bare.log")
    return Profile(profile).total / frames


def write_config(path, sock, n, layout):
    names = [f"vgpu-{chr(ord('a') + i)}" for i in range(n)]
    with open(path, "w") as f:
        f.write(f"[daemon]\nsocket = {sock}\n")
        f.write(f"[output Virtual-1]\nmode = {WIDTH}x{HEIGHT}\nflip = vsync\n")
        f.write(f"vgpu = {', '.join(names)}\n")
        if layout is not None:
            f.write(f"layout = {layout}\n")
        for name in names:
            f.write(f"[vgpu {name}]\n")
    return names


def wait_ready(notify, daemon, deadline):
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            fail(f"vscanoutd exited (status {daemon.returncode}) before it was ready")
        notify.settimeout(1.0)
        try:
            msg = notify.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        if "READY=1" in msg.split("\n"):
            return
    fail("vscanoutd was not ready in time")


def callgrind_control(pid, what, out):
    with open(os.path.join(out, "callgrind_control.log"), "a") as log:
        r = subprocess.run(["callgrind_control", "-i", what, str(pid)],
                           stdout=log, stderr=log, timeout=60)
    if r.returncode != 0:
        fail(f"callgrind_control -i {what} failed: see callgrind_control.log")


class Sim:
    def __init__(self, sim_path, sock, name, size, pace, out, case):
        self.name = name
        self.presented = 0
        self.buf = b""
        self.log_name = f"sim.{case}.{name}.log"
        self.log = open(os.path.join(out, self.log_name), "wb")
        self.proc = subprocess.Popen(
            [sim_path, "--socket", sock, "--vgpu", name, "--size", f"{size[0]}x{size[1]}",
             "--pace", pace, "--still", "1", "--trace"],
            stdout=subprocess.PIPE, stderr=self.log)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def pending(self):
        """Whether the sim has written something not read yet."""
        return bool(select.select([self.proc.stdout], [], [], 0)[0])

    def read(self):
        """Take what the sim wrote; False at its end."""
        try:
            data = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.log.write(data)
        self.log.flush()
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        self.presented += sum(1 for l in lines if l.startswith(b"presented "))
        return True


def run_case(args, n, layout, size, pace, frames, floor, out, tmp):
    vscanoutd, sim_path = args[0], args[1]
    label = f"daemon {n} vgpu{'s' if n > 1 else ''}"
    case = f"{n}vgpu"
    if pace != "timer":
        label += f" (pace {pace})"
        case += f"-{pace}"
    conf = os.path.join(tmp, f"{case}.conf")
    sock = os.path.join(tmp, f"vscanout-{case}")
    names = write_config(conf, sock, n, layout)
    check = subprocess.run([vscanoutd, "--config", conf, "--check-config"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        if n == 1:
            fail(f"vscanoutd refuses the one-vGPU configuration:\n{check.stderr}")
        print(f"{label}: skipped: several vGPUs per output not supported by this build")
        return None

    notify_path = os.path.join(tmp, f"notify-{case}")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    profile = os.path.join(out, f"callgrind.daemon-{case}")
    env = dict(os.environ, LIBSEAT_BACKEND="noop", NOTIFY_SOCKET=notify_path)
    daemon_log = open(os.path.join(out, f"vscanoutd.{case}.log"), "wb")
    daemon = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no",
         f"--callgrind-out-file={profile}", vscanoutd, "--config", conf],
        env=env, stdout=daemon_log, stderr=daemon_log)
    deadline = time.monotonic() + DEADLINE_S
    sims = []
    try:
        wait_ready(notify, daemon, deadline)
        sims = [Sim(sim_path, sock, name, size, pace, out, case) for name in names]
        sel = selectors.DefaultSelector()
        for s in sims:
            sel.register(s.proc.stdout, selectors.EVENT_READ, s)
        state, start = "warmup", 0
        while state != "done":
            if time.monotonic() > deadline:
                fail(f"{label}: out of time ({state}; presented "
                     f"{[s.presented for s in sims]})")
            for key, _ in sel.select(timeout=1.0):
                if not key.data.read():
                    fail(f"vscanout-sim-vmm {key.data.name} ended early: "
                         f"see {key.data.log_name}")
            if state == "warmup" and min(s.presented for s in sims) >= WARMUP:
                callgrind_control(daemon.pid, "on", out)
                # What the sims wrote meanwhile was before the window, or in it.
                while sims[0].read() and sims[0].pending():
                    pass
                state, start = "window", sims[0].presented
            elif state == "window" and sims[0].presented >= start + frames:
                callgrind_control(daemon.pid, "off", out)
                state = "done"
        for s in sims:
            s.proc.send_signal(signal.SIGTERM)
        for s in sims:
            os.set_blocking(s.proc.stdout.fileno(), True)
            while s.read():
                pass
            s.proc.wait(timeout=60)
            if s.proc.returncode != 0:
                fail(f"vscanout-sim-vmm {s.name} failed (status {s.proc.returncode}): "
                     f"see {s.log_name}")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
        if daemon.returncode != 0:
            fail(f"vscanoutd exited with status {daemon.returncode}: "
                 f"see vscanoutd.{case}.log")
    finally:
        for p in [s.proc for s in sims] + [daemon]:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s in sims:
            s.log.close()
        daemon_log.close()
        notify.close()

    prof = Profile(profile)
    total, calls = prof.total, prof.calls
    flips = calls.get(FLIP_HANDLER, 0)
    if flips == 0:
        fail(f"{label}: no call of {FLIP_HANDLER} counted in {profile}: "
             "no frame, or the flip handler has another name now")
    per_frame = total / flips
    print(f"{label}: {per_frame:.0f} instr/frame; bare flip loop: {floor:.0f} "
          f"instr/frame; ratio {per_frame / floor:.2f}")
    print(f"  {total} instructions in {flips} output frames at {WIDTH}x{HEIGHT}, "
          f"each vGPU {size[0]}x{size[1]}; calls per frame: " +
          ", ".join(f"{f} {calls.get(f, 0) / flips:.2f}" for f in COUNTED))
    released = calls.get(RELEASE_HANDLER, 0)
    if released:
        print(f"  {released} vGPU frames presented ({RELEASE_HANDLER} calls): "
              f"{total / released:.0f} instr per vGPU frame")
    return prof, flips


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    frames = int(sys.argv[4]) if len(sys.argv) == 5 else 300
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (tools/install-deps installs valgrind)")
    out = os.environ.get("VM_ARTEFACTS") or tempfile.mkdtemp(prefix="daemon-bench-")
    floor = bare_floor(sys.argv[3], frames, out)
    with tempfile.TemporaryDirectory(prefix="daemon-bench-") as tmp:
        one = None
        for n, layout, size, pace in CASES:
            r = run_case(sys.argv[1:], n, layout, size, pace, frames, floor, out, tmp)
            if one is None:
                one = r
        print(f"daemon 1 vgpu, where the instructions go ({one[1]} frames):")
        print_profile(one[0], one[1])


if __name__ == "__main__":
    main()
