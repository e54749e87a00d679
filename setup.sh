#!/usr/bin/env bash
# vctx setup: installs what Debian must provide, builds libvctx, the eBPF
# objects, the C tools, the node addon and the TypeScript, links the
# commands into /usr/local/sbin, then builds and starts three demo servers
# and opens vtop on them.
#
#   sudo ./setup.sh             everything, then vtop on the demo
#   sudo ./setup.sh --no-demo   install and build only (what CI runs)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
demo=1
for a in "$@"; do
  case "$a" in
    --no-demo) demo=0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$a'" >&2; echo "Try './setup.sh --help'." >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Node.js 20 or newer is the one prerequisite.
if ! command -v node >/dev/null 2>&1; then
  echo "setup.sh: Node.js 20 or newer is needed and was not found." >&2
  echo "  Debian: apt-get install nodejs (bookworm has 18: use bookworm-backports or https://nodejs.org)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup.sh: Node.js $(node --version) is too old; vctx needs 20 or newer (https://nodejs.org, or Debian bookworm-backports)." >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "setup.sh: run as root (it installs Debian packages and manages cgroups)." >&2
  exit 1
fi

# What Debian must provide: compilers and headers for libvctx and the eBPF
# programs, busybox for server roots, tmux for the end-to-end tests, procps
# for vps, debootstrap for the debootstrap template.
pkgs=(make gcc g++ python3 clang llvm libbpf-dev libelf-dev zlib1g-dev libseccomp-dev
      busybox-static tmux procps psmisc iproute2 util-linux libcap2-bin debootstrap)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

say "building (libvctx, eBPF, C tools, node addon, TypeScript)"
npm install --no-audit --no-fund --loglevel=error

say "linking the commands into /usr/local/sbin"
for t in chcontext chbind reducecap vserver-info vdu vreboot vps; do
  ln -sf "$here/kernel/out/$t" "/usr/local/sbin/$t"
done
# each command is one bundle (scripts/bundle-cli.mjs); vps's front (kernel/out/vps) runs ps beside dist/vps.cjs
for c in vserver vserver-all vserver-stat vpstree vkill; do
  ln -sf "$here/dist/$c.cjs" "/usr/local/sbin/$c"
done
# vtop ships as one bundle: it starts in a fraction of the time of 100 modules
ln -sf "$here/dist/vtop.mjs" /usr/local/sbin/vtop

[ "$demo" -eq 1 ] || { say "done"; exit 0; }

say "building and starting the demo servers"
"$here/scripts/demo.sh" up
if [ -t 0 ] && [ -t 1 ]; then
  exec /usr/local/sbin/vtop
else
  /usr/local/sbin/vtop --once
fi
