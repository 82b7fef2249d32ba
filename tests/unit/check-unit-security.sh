#!/bin/sh
# SPDX-License-Identifier: MIT
# Hold the service units' exposure to `systemd-analyze security` at 3.0 or
# lower ("OK"): each unit file, under the name it is installed with, is
# rated offline and fails above the limit, with the checks it misses.
# Usage: check-unit-security.sh UNIT-FILE...
set -u

limit=30 # tenths, as --threshold takes it

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not found: install the Debian package systemd (tools/install-deps)" >&2
    exit 77
fi

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

status=0
for file in "$@"; do
    name=$(basename "$file")
    cp "$file" "$dir/$name" || exit 1
    out=$(cd "$dir" && systemd-analyze security --offline=yes --threshold=$limit --no-pager \
        "$name" 2>&1)
    rc=$?
    level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
    if [ -z "$level" ]; then
        echo "$name: systemd-analyze security gave no exposure level (exit $rc):" >&2
        printf '%s\n' "$out" >&2
        status=1
        continue
    fi
    tenths=$(printf '%s' "$level" | tr -d .)
    if [ "$rc" -ne 0 ] || [ "$tenths" -gt $limit ]; then
        echo "$name: exposure $level, above 3.0 (exit $rc); what it misses:" >&2
        printf '%s\n' "$out" | grep '✗' >&2
        status=1
    else
        echo "$name: exposure $level (at most 3.0)"
    fi
done
exit $status
