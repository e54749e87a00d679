#!/bin/sh
# Stages vctx's files below DEST (debian/vctx) for its .deb; run by
# packaging/debian/rules in the directory scripts/build-deb.sh prepared (a
# copy of the built checkout's runtime files, with node/bin/node).
#   /usr/lib/vctx           the tree the commands find themselves in: the
#                           bundles (dist/), the C tools (kernel/out/), the
#                           addon (build/Release/vctx.node), scripts/vctx-views
#                           and Node (node/bin/node)
#   /usr/sbin/NAME          every command of package.json's "bin": the C
#                           tools as links; the JavaScript ones as a two-line
#                           sh script running the package's Node with the
#                           flags of the command's own #! line
#   /usr/share/man/man8     the man pages (help2man, from each --help)
#   /lib/systemd/system     vservers.service, vservers@.service and vctx-views.service (not enabled)
set -eu
dest="$1"
lib="$dest/usr/lib/vctx"
node=/usr/lib/vctx/node/bin/node
mkdir -p "$lib/kernel/out" "$lib/build/Release" "$lib/scripts" "$lib/node/bin" "$dest/usr/sbin" \
  "$dest/usr/share/man/man8" "$dest/lib/systemd/system" "$dest/usr/share/doc/vctx"
cp -a package.json dist "$lib/"
rm -rf "$lib/dist/man" "$lib/dist/src" "$lib/dist/test"
cp -a kernel/out/. "$lib/kernel/out/"
cp -a build/Release/vctx.node "$lib/build/Release/"
cp -a scripts/vctx-views scripts/vctx-instance "$lib/scripts/"
install -m 755 node/bin/node "$lib/node/bin/node"
install -m 644 node/LICENSE "$dest/usr/share/doc/vctx/node-LICENSE"
install -m 644 README.md docs/CONTRACT.md "$dest/usr/share/doc/vctx/"
install -m 644 dist/man/man8/*.8 "$dest/usr/share/man/man8/"
sed "s|@SBINDIR@|/usr/sbin|g" scripts/vservers.service > "$dest/lib/systemd/system/vservers.service"
sed "s|@SBINDIR@|/usr/sbin|g" scripts/vservers@.service > "$dest/lib/systemd/system/vservers@.service"
sed "s|@VIEWS@|/usr/lib/vctx/scripts/vctx-views|g" scripts/vctx-views.service > "$dest/lib/systemd/system/vctx-views.service"

node/bin/node -e 'for (const [n, f] of Object.entries(require("./package.json").bin)) console.log(n + " " + f)' |
while read -r name file; do
  if [ "${file#kernel/out/}" != "$file" ]; then
    ln -s "../lib/vctx/$file" "$dest/usr/sbin/$name"
    continue
  fi
  # "#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --flag ..." -> the flags,
  # and whether the variable is dropped
  shebang=$(head -n 1 "$file")
  flags=$(printf '%s\n' "$shebang" | sed -n 's|^#!.* node\( .*\)\{0,1\}$|\1|p')
  unset_ca=
  case "$shebang" in *"-u NODE_EXTRA_CA_CERTS"*) unset_ca='unset NODE_EXTRA_CA_CERTS
' ;; esac
  printf '#!/bin/sh\n# vctx: %s on the Node shipped with the package\n%sexec %s%s /usr/lib/vctx/%s "$@"\n' \
    "$name" "$unset_ca" "$node" "$flags" "$file" > "$dest/usr/sbin/$name"
  chmod 755 "$dest/usr/sbin/$name"
done
