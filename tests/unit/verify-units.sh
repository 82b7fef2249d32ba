#!/bin/sh
# SPDX-License-Identifier: MIT
# Check systemd unit files with systemd-analyze verify: any message (an
# unknown key, a bad value, an ExecStart= binary that is not there) fails.
# Usage: verify-units.sh UNIT-FILE...
# A leading "test-" in a file's name is dropped: the unit is checked under
# the name it is installed with.
set -u

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not found: install the Debian package systemd (tools/install-deps)" >&2
    exit 77
fi

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

status=0
for file in "$@"; do
    name=$(basename "$file")
    name=${name#test-}
    cp "$file" "$dir/$name" || exit 1
    out=$(systemd-analyze verify --man=no "$dir/$name" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
        echo "$name: systemd-analyze verify exited with $rc:" >&2
        echo "$out" >&2
        status=1
    else
        echo "$name: ok"
    fi
done
exit $status
