#!/usr/bin/env python3
# What a VMM author gets: the project is installed into a private staging
# directory (meson install --destdir), and the README's minimal client is
# built there with the README's own commands from the installed files
# alone: vscanout.pc found through PKG_CONFIG_PATH, the XML through its
# pkgdatadir, the vblank header through its Cflags. Nothing of the source
# tree's include/ or of the build tree is on the compiler's command line.
# Fails when the XML, vscanout.pc or vscanout-vblank.h is not installed
# where packages expect it, when vscanout-sim-vmm is installed against
# -Dinstall_sim_vmm, or when the README's client or commands stop working.
#
# usage: installed-protocol.py MESON BUILD_ROOT README.md PREFIX DATADIR
#        INCLUDEDIR BINDIR INSTALL_SIM_VMM(true|false) VERSION
import os
import re
import shutil
import subprocess
import sys
import tempfile

meson, build_root, readme_path, prefix, datadir, includedir, bindir, install_sim, version = (
    sys.argv[1:10])


def fail(message):
    sys.exit("installed-protocol: " + message)


def block_after(text, anchor, language):
    """The fenced block of the language that follows the first mention of anchor."""
    at = text.find(anchor)
    if at < 0:
        fail("README.md does not mention " + anchor)
    fence = "```" + language + "\n"
    start = text.find(fence, at)
    if start < 0:
        fail("README.md: no " + language + " block after " + anchor)
    start += len(fence)
    return text[start:text.index("```\n", start)]


def under(root, path):
    """path (relative to prefix, or absolute) inside the staging root."""
    return root + os.path.join(prefix, path)


def run(args, cwd, env=None):
    done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        fail("%s failed (status %d):\n%s" % (" ".join(args), done.returncode, done.stdout))
    return done.stdout


readme = open(readme_path, encoding="utf-8").read()
client = block_after(readme, "`tools/vscanout-sim-vmm/minimal-client.c`", "c")
commands = block_after(readme, "builds from the installed files alone", "sh")

tmp = tempfile.mkdtemp(prefix="vscanout-installed-")
try:
    stage = os.path.join(tmp, "stage")
    run([meson, "install", "-C", build_root, "--no-rebuild", "--quiet", "--destdir", stage], tmp)

    xml = under(stage, os.path.join(datadir, "vscanout", "protocol", "vscanout-v1.xml"))
    pc = under(stage, os.path.join(datadir, "pkgconfig", "vscanout.pc"))
    header = under(stage, os.path.join(includedir, "vscanout", "vscanout-vblank.h"))
    sim = under(stage, os.path.join(bindir, "vscanout-sim-vmm"))
    for path in (xml, pc, header):
        if not os.path.isfile(path):
            fail("not installed: " + path[len(stage):])
    if os.path.exists(sim) != (install_sim == "true"):
        fail("%s is %sinstalled with -Dinstall_sim_vmm=%s" %
             (sim[len(stage):], "" if os.path.exists(sim) else "not ", install_sim))

    # The staged vscanout.pc, moved to the staging directory: only its
    # prefix changes, the way a relocated install would read.
    pc_text = open(pc, encoding="utf-8").read()
    if not re.search(r"^prefix=%s$" % re.escape(prefix), pc_text, re.M):
        fail("vscanout.pc does not start from prefix=" + prefix + ":\n" + pc_text)
    pc_dir = os.path.join(tmp, "pkgconfig")
    os.mkdir(pc_dir)
    with open(os.path.join(pc_dir, "vscanout.pc"), "w", encoding="utf-8") as out:
        out.write(re.sub(r"^prefix=.*$", "prefix=" + stage + prefix, pc_text, count=1,
                         flags=re.M))
    env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    env.pop("PKG_CONFIG_LIBDIR", None)
    env.pop("PKG_CONFIG_SYSROOT_DIR", None)

    def pkg_config(*args):
        return run(["pkg-config"] + list(args) + ["vscanout"], tmp, env).strip()

    if pkg_config("--modversion") != version:
        fail("vscanout.pc has version %s, not %s" % (pkg_config("--modversion"), version))
    pkgdatadir = pkg_config("--variable=pkgdatadir")
    if os.path.join(pkgdatadir, "protocol", "vscanout-v1.xml") != xml:
        fail("pkgdatadir %s does not hold the installed XML %s" % (pkgdatadir, xml))
    if "-I" + os.path.dirname(header) not in pkg_config("--cflags").split():
        fail("pkg-config --cflags vscanout lacks -I" + os.path.dirname(header))

    # The README's client, built with the README's commands, in a folder of
    # its own with nothing of the source or build tree.
    work = os.path.join(tmp, "client")
    os.mkdir(work)
    with open(os.path.join(work, "minimal-client.c"), "w", encoding="utf-8") as out:
        out.write(client)
    print(commands, end="")
    run(["sh", "-exc", commands], work, env)
    if not os.access(os.path.join(work, "minimal-client"), os.X_OK):
        fail("the README's commands made no minimal-client")

    # The header agrees with the protocol's enum and builds alone, as C and
    # as C++.
    with open(os.path.join(work, "agree.c"), "w", encoding="utf-8") as out:
        out.write("""#include <vscanout-vblank.h>

#include "vscanout-v1-client-protocol.h"

_Static_assert((unsigned)VSCANOUT_VBLANK_TIMER ==
		       (unsigned)VSCANOUT_VGPU_V1_VBLANK_SOURCE_FLAGS_TIMER, "timer");
_Static_assert((unsigned)VSCANOUT_VBLANK_STOPPED ==
		       (unsigned)VSCANOUT_VGPU_V1_VBLANK_SOURCE_FLAGS_STOPPED, "stopped");
_Static_assert(VSCANOUT_VBLANK_RECORD_VERSION == 1, "version");
""")
    cflags = pkg_config("--cflags").split()
    run(["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-c", "agree.c"] + cflags,
        work, env)
    if shutil.which("c++"):
        with open(os.path.join(work, "record.cc"), "w", encoding="utf-8") as out:
            out.write("""#include <vscanout-vblank.h>

bool read_once(const vscanout_vblank_record *record, vscanout_vblank_state *state)
{
	return vscanout_vblank_record_try_read(record, state);
}
""")
        run(["c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Wold-style-cast",
             "-Werror", "-c", "record.cc"] + cflags, work, env)
    else:
        print("no c++ compiler: the header is not built as C++")
    print("the README's minimal client builds from the installed files alone")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
