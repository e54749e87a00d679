#!/usr/bin/env bash
# vctx setup: installs what Debian must provide, builds libvctx, the eBPF
# objects, the C tools, the node addon, the TypeScript and the man pages,
# installs the commands, their man pages and the systemd unit for ONBOOT
# servers, starts the daemons behind the servers' inside views (lxcfs and
# vctx-netview, scripts/vctx-views: detached, logged in /var/log/vctx, never
# twice), then builds and starts three demo servers and opens vtop on them.
#
#   sudo ./setup.sh                  everything, then vtop on the demo
#   sudo ./setup.sh --no-demo        install and build only (what CI runs)
#   sudo ./setup.sh --enable-onboot  also enable vservers.service, so that the
#                                    servers with ONBOOT=yes start at boot, and
#                                    vctx-views.service, which starts the
#                                    inside views' daemons before them
#   sudo ./setup.sh --enable-exporter  also enable vctx-exporter.service
#                                    (the servers' figures for Prometheus on
#                                    127.0.0.1:10095; docs/metrics.md)
#   sudo ./setup.sh --uninstall      remove what setup installed and stop the
#                                    daemons it started (refused while
#                                    configured servers run)
#   --prefix DIR                     install below DIR instead of /usr/local:
#                                    commands in DIR/sbin, man pages in
#                                    DIR/share/man/man8, the units in
#                                    DIR/lib/systemd/system, the sysctl
#                                    floors in DIR/lib/sysctl.d/60-vctx.conf,
#                                    the Prometheus alert rules in
#                                    DIR/share/vctx/vctx-alerts.rules.yml
#
# Per-uid kernel counters that a server's root shares with the host's root
# (inotify) get their limits raised, now and at boot (60-vctx.conf, never
# lowering a higher value): docs/security/counters.md.
#
# Rerun it to upgrade: running servers keep running.  What it installed is
# listed in PREFIX/lib/vctx/installed, which --uninstall reads; the checkout,
# /etc/vservers and /vservers are never removed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
demo=1 onboot=0 exporter=0 uninstall=0 prefix=/usr/local
usage_hint() { echo "setup.sh: $1" >&2; echo "Try './setup.sh --help'." >&2; exit 2; }
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --no-demo) demo=0 ;;
    --enable-onboot) onboot=1 ;;
    --enable-exporter) exporter=1 ;;
    --uninstall) uninstall=1 ;;
    --prefix) [ $# -ge 2 ] || usage_hint "option '--prefix' needs a directory"; prefix="$2"; shift ;;
    --prefix=*) prefix="${1#--prefix=}" ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) usage_hint "unknown option '$1'" ;;
  esac
  shift
done
case "$prefix" in
  /*) prefix="${prefix%/}"; [ -n "$prefix" ] || usage_hint "--prefix: '/' is not a prefix (use /usr/local or /usr)" ;;
  *) usage_hint "--prefix: '$prefix' is not an absolute path" ;;
esac
[ "$uninstall" -eq 0 ] || [ "$onboot" -eq 0 ] || usage_hint "options '--uninstall' and '--enable-onboot' exclude each other"
[ "$uninstall" -eq 0 ] || [ "$exporter" -eq 0 ] || usage_hint "options '--uninstall' and '--enable-exporter' exclude each other"

# Where things go: one place.  The commands are package.json's "bin"
# (name -> file in the checkout); each gets a link in $sbindir and a man page.
sbindir="$prefix/sbin"
man8dir="$prefix/share/man/man8"
unitdir="$prefix/lib/systemd/system"
unit="$unitdir/vservers.service"
# the same for a named instance (docs/instances.md): vservers@NAME.service
inst_unit="$unitdir/vservers@.service"
views_unit="$unitdir/vctx-views.service"
exporter_unit="$unitdir/vctx-exporter.service"
rules="$prefix/share/vctx/vctx-alerts.rules.yml"
views="$here/scripts/vctx-views"
manifest="$prefix/lib/vctx/installed"

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
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "${args[@]}"; fi
  echo "setup.sh: run as root (it installs Debian packages and manages cgroups)." >&2
  exit 1
fi

# "NAME FILE" per command, from package.json's bin
commands() { node -e 'for (const [n, f] of Object.entries(require("./package.json").bin)) console.log(n + " " + f)'; }

# systemd as PID 1: reload it after the unit changes
systemd_running() { [ -d /run/systemd/system ]; }

if [ "$uninstall" -eq 1 ]; then
  if [ ! -f "$manifest" ]; then
    echo "setup.sh: nothing to uninstall: $manifest does not exist" >&2
    exit 0
  fi
  # the configured servers that run (VSERVER_CONFDIR & co. are honoured)
  if ! status=$(node "$here/dist/src/cli/vserver-all.js" status --json); then
    echo "setup.sh: cannot tell which servers run (vserver-all status failed); nothing removed" >&2
    exit 1
  fi
  running=$(printf '%s' "$status" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
    console.log(JSON.parse(s).filter((v) => v.running).map((v) => v.name).join(" ")))')
  if [ -n "$running" ]; then
    echo "setup.sh: servers are running: $running; stop them first (vserver-all stop), nothing removed" >&2
    exit 1
  fi
  say "removing what setup installed (listed in $manifest)"
  mapfile -t entries < "$manifest"
  # the daemons it started (their PID files are listed): stopped first
  for f in "${entries[@]}"; do
    case "$f" in /run/vctx-views/*.pid) n="${f##*/}"; "$views" stop "${n%.pid}" ;; esac
  done
  n=0
  for f in "${entries[@]}"; do
    case "$f" in */) continue ;; esac
    if [ -e "$f" ] || [ -L "$f" ]; then rm -f -- "$f"; n=$((n + 1)); fi
  done
  rm -f -- "$manifest"
  # the directories setup made, deepest first, when nothing else is in them
  printf '%s\n' "${entries[@]}" | grep '/$' | sort -r | while IFS= read -r d; do rmdir -- "$d" 2>/dev/null || true; done
  if systemd_running; then systemctl daemon-reload || true; fi
  if [ "$prefix" = /usr/local ] && command -v mandb >/dev/null 2>&1; then mandb -q || true; fi
  say "removed $n files; the checkout, /etc/vservers and /vservers are left as they were"
  exit 0
fi

# What Debian must provide: compilers and headers for libvctx and the eBPF
# programs, busybox for server roots, tmux for the end-to-end tests, procps
# for vps, debootstrap for the debootstrap template, help2man and man-db for
# the man pages, systemd for the unit (systemd-analyze checks it), lxcfs and
# libfuse3 (vctx-netview) for the inside views, the ssh client for the
# real-server test's login, lxc for its benchmark's peer, rsync (vserver-copy)
# xz and zstd (the archives of vserver NAME backup), attr (its test reads
# xattrs), debhelper (scripts/build-deb.sh, the Debian package), e2fsprogs and
# xfsprogs (DISK_MAX's tests make ext4 images with project quotas and an XFS
# image for the project-id walk), prometheus (promtool checks the alert
# rules; the exporter's test runs its own Prometheus: the packaged one is
# kept from starting, below), libssl-dev (vunify's SHA-256), rdfind and
# jdupes (bench/unify.mjs runs them against unify; util-linux has hardlink),
# openssh-server (vserver-copy to another host and vtop --host: their tests
# start their own sshd on a loopback address; the packaged one must not
# start, see below), erofs-utils (unify packs each server's never-shared
# files into its own erofs image).
pkgs=(make gcc g++ python3 clang llvm libbpf-dev libelf-dev zlib1g-dev libseccomp-dev
      busybox-static tmux procps psmisc iproute2 util-linux libcap2-bin debootstrap
      help2man man-db systemd lxcfs fuse3 libfuse3-dev pkg-config openssh-client lxc
      rsync xz-utils zstd attr debhelper e2fsprogs xfsprogs prometheus libssl-dev rdfind jdupes
      openssh-server erofs-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # no service starts from a package's postinst (openssh-server's would start
  # a host sshd on :22 where PID 1 is no systemd, prometheus would listen on
  # :9090): a policy-rc.d that refuses
  # every start for the install, removed afterwards unless it was there before
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# vctx setup.sh: no service starts while packages install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  listening22() { ss -Hltn 'sport = :22' 2>/dev/null | grep -q .; }
  had22=; listening22 && had22=1
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -n "$own_policy" ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || exit "$rc"
  if [ -z "$had22" ] && listening22; then
    echo "setup.sh: something started listening on :22 while packages installed (a packaged sshd?); vctx's tests start their own sshd and need none: stop it" >&2
    exit 1
  fi
  # nor at boot: the packaged Prometheus is not vctx's to run
  case " ${missing[*]} " in *" prometheus "*)
    if systemd_running; then systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1; then update-rc.d prometheus disable >/dev/null 2>&1 || true; fi ;;
  esac
fi

# The build is skipped when nothing in the checkout changed since the last
# one setup made (with this Node.js): a rerun only reinstalls.
stamp="$here/dist/.setup-build"
built_for="node $(node -p process.versions.modules)"
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$built_for" ] &&
   [ -z "$(find "$here" \( -path "$here/node_modules" -o -path "$here/dist" -o -path "$here/build" \
            -o -path "$here/kernel/out" -o -path "$here/.git" \) -prune -o -newer "$stamp" -print -quit)" ]; then
  say "the build is up to date"
else
  say "building (libvctx, eBPF, C tools, node addon, TypeScript, man pages)"
  npm install --no-audit --no-fund --loglevel=error
  printf '%s\n' "$built_for" > "$stamp"
fi

say "installing the commands into $sbindir, their man pages into $man8dir"
declare -A old=()
if [ -f "$manifest" ]; then while IFS= read -r f; do old["$f"]=1; done < "$manifest"; fi
installed=()
# mkdir -p that remembers (as DIR/) every directory it made, outermost first
made_dir() {
  local d="$1" todo=()
  while [ ! -d "$d" ]; do todo=("$d" "${todo[@]}"); d="$(dirname "$d")"; done
  for d in "${todo[@]}"; do mkdir -m 755 "$d"; installed+=("$d/"); done
}
for f in "${!old[@]}"; do case "$f" in */) [ -d "$f" ] && installed+=("$f") ;; esac; done
made_dir "$sbindir"; made_dir "$man8dir"; made_dir "$unitdir"; made_dir "$(dirname "$manifest")"; made_dir "$(dirname "$rules")"

while read -r name file; do
  [ -e "$here/$file" ] || { echo "setup.sh: $file was not built (npm install failed?)" >&2; exit 1; }
  case "$file" in *.js|*.mjs|*.cjs) chmod +x "$here/$file" ;; esac
  ln -sfn "$here/$file" "$sbindir/$name"
  installed+=("$sbindir/$name")
  install -m 644 "$here/dist/man/man8/$name.8" "$man8dir/$name.8"
  installed+=("$man8dir/$name.8")
done < <(commands)

# the unit for ONBOOT servers: installed always, enabled only when asked
sed "s|@SBINDIR@|$sbindir|g" "$here/scripts/vservers.service" > "$unit.tmp"
chmod 644 "$unit.tmp"
mv -f "$unit.tmp" "$unit"
installed+=("$unit")
if [ "$onboot" -eq 1 ]; then
  say "enabling vservers.service (ONBOOT=yes servers start at boot)"
  systemctl enable "$unit"
fi
sed "s|@SBINDIR@|$sbindir|g" "$here/scripts/vservers@.service" > "$inst_unit.tmp"
chmod 644 "$inst_unit.tmp"
mv -f "$inst_unit.tmp" "$inst_unit"
installed+=("$inst_unit")
# the inside views' daemons, started at boot before the servers when enabled
sed "s|@VIEWS@|$views|g" "$here/scripts/vctx-views.service" > "$views_unit.tmp"
chmod 644 "$views_unit.tmp"
mv -f "$views_unit.tmp" "$views_unit"
installed+=("$views_unit")
if [ "$onboot" -eq 1 ]; then systemctl enable "$views_unit"; fi
# the exporter's unit and the alert rules (docs/metrics.md): enabled only when asked
sed "s|@SBINDIR@|$sbindir|g" "$here/scripts/vctx-exporter.service" > "$exporter_unit.tmp"
chmod 644 "$exporter_unit.tmp"
mv -f "$exporter_unit.tmp" "$exporter_unit"
installed+=("$exporter_unit")
if [ "$exporter" -eq 1 ]; then
  say "enabling vctx-exporter.service (http://127.0.0.1:10095/metrics)"
  systemctl enable "$exporter_unit"
fi
install -m 644 "$here/scripts/vctx-alerts.rules.yml" "$rules"
installed+=("$rules")
# per-uid kernel counters a server's root shares with the host's root
# (docs/security/counters.md): their limits raised now (never lowered), and
# at boot by systemd-sysctl / sysctl --system from PREFIX/lib/sysctl.d
sysctl_file="$prefix/lib/sysctl.d/60-vctx.conf"
made_dir "$(dirname "$sysctl_file")"
node -e 'for (const f of require("./kernel/tables/vctx-tables.json").hostCounterFloors)
  console.log(`# ${f.why}\n${f.sysctl} = ${f.floor}`)' > "$sysctl_file.tmp"
chmod 644 "$sysctl_file.tmp"
mv -f "$sysctl_file.tmp" "$sysctl_file"
installed+=("$sysctl_file")
while read -r key _ floor; do
  case "$key" in ''|'#'*) continue ;; esac
  cur=$(sysctl -n "$key" 2>/dev/null || echo 0)
  [ "$cur" -ge "$floor" ] || sysctl -q -w "$key=$floor" || echo "setup.sh: warning: cannot raise $key to $floor" >&2
done < "$sysctl_file"
# the links enabling them (made now, or by an earlier --enable-onboot)
for l in /etc/systemd/system/vservers.service /etc/systemd/system/*.wants/vservers.service \
         /etc/systemd/system/vctx-views.service /etc/systemd/system/*.wants/vctx-views.service \
         /etc/systemd/system/vctx-exporter.service /etc/systemd/system/*.wants/vctx-exporter.service; do
  if [ -L "$l" ] && { [ "$(readlink "$l")" = "$unit" ] || [ "$(readlink "$l")" = "$views_unit" ] ||
                      [ "$(readlink "$l")" = "$exporter_unit" ]; }; then installed+=("$l"); fi
done

# the daemons now (no init may start them: PID 1 need not be systemd); the
# PID files of those this run or an earlier one started are listed, so that
# --uninstall stops them
say "starting the inside views' daemons (lxcfs, vctx-netview) unless they run"
mapfile -t started < <("$views" start) || true
for f in "${started[@]}"; do [ -n "$f" ] && installed+=("$f"); done
for f in "${!old[@]}"; do case "$f" in /run/vctx-views/*.pid) [ -f "$f" ] && installed+=("$f") ;; esac; done
if [ "$("$views" status)" != $'lxcfs answers\nvctx-netview answers' ]; then
  echo "setup.sh: the inside views' daemons do not all answer ($("$views" status | tr '\n' ' ')); see /var/log/vctx" >&2
  exit 1
fi

# what an earlier run installed and this one did not: gone
declare -A now=()
for f in "${installed[@]}"; do now["$f"]=1; done
for f in "${!old[@]}"; do
  case "$f" in */) continue ;; esac
  [ -n "${now[$f]:-}" ] || [ "$f" = "$manifest" ] || rm -f -- "$f"
done
installed+=("$manifest")
printf '%s\n' "${installed[@]}" | awk '!seen[$0]++' > "$manifest.tmp"
mv -f "$manifest.tmp" "$manifest"

if systemd_running; then systemctl daemon-reload || true; fi
if [ "$prefix" = /usr/local ] && command -v mandb >/dev/null 2>&1; then mandb -q || true; fi

[ "$demo" -eq 1 ] || { say "done"; exit 0; }

say "building and starting the demo servers"
"$here/scripts/demo.sh" up
if [ -t 0 ] && [ -t 1 ]; then
  exec "$sbindir/vtop"
else
  "$sbindir/vtop" --once
fi
