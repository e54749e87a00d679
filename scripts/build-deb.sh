#!/usr/bin/env bash
# Builds vctx's Debian package from this checkout with Debian's own tooling
# (debhelper, dpkg-buildpackage): `scripts/build-deb.sh [--out DIR]` writes
# DIR/vctx_VERSION_ARCH.deb (default: dist/) and prints its path.
#
# The checkout must be built first (npm install, or ./setup.sh): the package
# carries what that built (libvctx's tools, the addon, the bundles, the man
# pages) and nothing is compiled again.  It also carries the Node that runs
# this script (20 or later: Debian 12's nodejs is 18), in /usr/lib/vctx/node.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
out="$here/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "build-deb.sh: --out needs a directory" >&2; exit 2; }; out="$(readlink -f "$2")"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument '$1' (usage: scripts/build-deb.sh [--out DIR])" >&2; exit 2 ;;
  esac
done
for t in dpkg-buildpackage dh; do
  command -v "$t" >/dev/null || { echo "build-deb.sh: $t is missing: ./setup.sh installs debhelper (or apt-get install debhelper)" >&2; exit 1; }
done
cd "$here"
for f in dist/vserver-all.cjs dist/vtop.mjs kernel/out/chcontext build/Release/vctx.node dist/man/man8/vserver.8; do
  [ -e "$f" ] || { echo "build-deb.sh: $f is missing: build the checkout first (npm install)" >&2; exit 1; }
done
node=$(command -v node) || { echo "build-deb.sh: node is missing" >&2; exit 1; }
node=$(readlink -f "$node")
major=$("$node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "build-deb.sh: $node is Node $major; the package ships Node 20 or later" >&2; exit 1; }
license=""
for l in /usr/share/doc/nodejs/LICENSE "$(dirname "$node")/../share/doc/node/LICENSE" "$(dirname "$node")/../LICENSE"; do
  [ -f "$l" ] && { license="$l"; break; }
done
[ -n "$license" ] || { echo "build-deb.sh: cannot find the license file of $node (looked in /usr/share/doc/nodejs)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')
mkdir -p "$out"

work=$(mktemp -d /tmp/vctx-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/vctx-$version"
mkdir -p "$src/kernel/out" "$src/build/Release" "$src/scripts" "$src/docs" "$src/node/bin" "$src/dist"
cp -a packaging/debian "$src/debian"
cp -a package.json README.md "$src/"
cp -a docs/CONTRACT.md "$src/docs/"
cp -a dist/*.cjs dist/vtop.mjs dist/cjs dist/man "$src/dist/"
# the tools, not what they are built from
find kernel/out -maxdepth 1 -type f -perm -u+x -exec cp -a {} "$src/kernel/out/" \;
find kernel/out -maxdepth 1 -type l -exec cp -a {} "$src/kernel/out/" \;
cp -a build/Release/vctx.node "$src/build/Release/"
cp -a scripts/vctx-views scripts/vctx-instance scripts/vservers.service scripts/vservers@.service scripts/vctx-views.service scripts/deb-stage.sh "$src/scripts/"
cp "$node" "$src/node/bin/node"
cp "$license" "$src/node/LICENSE"
cat > "$src/debian/changelog" <<CHANGES
vctx ($version) unstable; urgency=medium

  * Built from $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo 'a checkout') by scripts/build-deb.sh.

 -- vctx maintainers <maintainers@vctx.invalid>  $(date -R)
CHANGES
(cd "$src" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -n 30 "$work/build.log" >&2
  echo "build-deb.sh: dpkg-buildpackage failed (its log's end above)" >&2
  exit 1
}
deb=$(ls "$work"/vctx_"$version"_*.deb)
mv "$deb" "$out/"
echo "$out/$(basename "$deb")"
