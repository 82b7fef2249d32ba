#!/bin/sh
# Benchmark of the vblank sources in the VM (vkms): latency figures from
# bench-vblank, then the server's user-space cost per vblank counted by
# callgrind (deterministic, unlike times under TCG): instructions spent in
# the KMS core's sequence event handler, with bench-vblank's two sources.
# usage: bench.sh BENCH_BINARY [VBLANKS]
set -eu
bench=$1
vblanks=${2:-600}
out=${VM_ARTEFACTS:-/tmp}

"$bench" "$vblanks"
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=handle_sequence \
	--callgrind-out-file="$out/callgrind.vblank" "$bench" 100 \
	>/dev/null 2>"$out/valgrind.vblank.log"
ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' \
	"$out/callgrind.vblank" | tail -n 1)
# callgrind names a function once, as "(id) name", and by "(id)" after that.
calls=$(awk '
	!id && /\) handle_sequence$/ { match($0, /\([0-9]+\)/); id = substr($0, RSTART, RLENGTH) }
	id && index($0, "fn=" id) == 1 { f = 1; next }
	f && /^calls=/ { sub("calls=", ""); print $1; exit }' "$out/callgrind.vblank")
echo "callgrind: $ir instructions in $calls sequence events, $((ir / calls)) per vblank (2 sources)"
