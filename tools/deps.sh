#!/bin/sh
# deps.sh PACKAGE... - installs, with apt-get, the Debian packages that are
# missing, and nothing else. Quiet when everything is there.
set -u

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "make deps: this is not a Debian-like system (no apt-get); install these by hand: $*" >&2
    exit 1
fi
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "make deps: missing:$missing; install them with: sudo make deps" >&2
    exit 1
fi
echo "make deps: installing$missing" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once, then retry.
if ! apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1; then
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "make deps: apt-get could not install:$missing" >&2
        exit 1
    fi
fi
