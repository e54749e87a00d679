#!/usr/bin/env bash
# The demo: three busybox servers on loopback addresses, each with the
# demo web server on port 80 of its own address.
#   scripts/demo.sh up     build (once) and start them
#   scripts/demo.sh down   stop them
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vserver() { "$here/dist/vserver.cjs" "$@"; }
servers=("web1 127.0.0.11" "web2 127.0.0.12" "db1 127.0.0.13")
case "${1:-up}" in
  up)
    for s in "${servers[@]}"; do
      set -- $s
      [ -e "/etc/vservers/$1.conf" ] || vserver "$1" build --template busybox --ip "$2" --hostname "$1.demo"
      vserver "$1" running || vserver "$1" start
    done ;;
  down)
    for s in "${servers[@]}"; do
      set -- $s
      ! vserver "$1" running || vserver "$1" stop
    done ;;
  *) echo "usage: scripts/demo.sh up|down" >&2; exit 2 ;;
esac
