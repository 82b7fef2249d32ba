#!/bin/sh
# Benchmark of the KMS core in the VM (vkms, 1920x1080, writeback and CRC
# off): CPU time and callgrind instructions per presented frame for the bare
# atomic flip loop (the floor), direct scanout and the copy fallback.
# usage: bench.sh BENCH_BINARY [FRAMES]
set -eu
bench=$1
frames=${2:-300}
cg_frames=60
out=${VM_ARTEFACTS:-/tmp}

for mode in bare direct copy; do
	"$bench" "$mode" "$frames"
done
for mode in bare direct copy; do
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect=run_frames \
		--callgrind-out-file="$out/callgrind.$mode" "$bench" "$mode" "$cg_frames" \
		>/dev/null 2>"$out/valgrind.$mode.log"
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' \
		"$out/callgrind.$mode" | tail -n 1)
	echo "callgrind $mode: $ir instructions for $cg_frames frames, $((ir / cg_frames)) per frame"
done
