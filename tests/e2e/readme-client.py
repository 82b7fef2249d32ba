#!/usr/bin/env python3
# The README's minimal client is the file tools/vscanout-sim-vmm/minimal-client.c,
# which is built and run by the tests: fail when the two differ.
# usage: readme-client.py README.md minimal-client.c
import sys

readme, source = (open(path, encoding="utf-8").read() for path in sys.argv[1:3])
anchor = "`tools/vscanout-sim-vmm/minimal-client.c`"
start = readme.find("```c\n", readme.find(anchor))
if readme.find(anchor) < 0 or start < 0:
    sys.exit("README.md: no C block after the mention of " + anchor)
start += len("```c\n")
end = readme.find("```\n", start)
if readme[start:end] != source:
    sys.exit("README.md: the minimal client differs from tools/vscanout-sim-vmm/minimal-client.c")
print("README.md shows minimal-client.c exactly")
