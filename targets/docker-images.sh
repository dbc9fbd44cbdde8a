#!/usr/bin/env bash
# Builds the small images the Docker tests and scenarios S06–S12 run, from this machine's own
# binaries (no registry is reachable here): `docker import` of a root filesystem.
#   homeostat/busybox:1   busybox-static (sh, tail, dd, httpd…): the web server and the fault images
#   homeostat/redis:1     redis-server and its shared libraries, on busybox
# Idempotent and fast: an image whose `homeostat.source` label matches its inputs' checksum is kept.
set -euo pipefail

BUSYBOX="${BUSYBOX:-/bin/busybox}"
REDIS="${REDIS:-$(command -v redis-server || true)}"
[ -x "$BUSYBOX" ] || { echo "docker-images: $BUSYBOX is missing (apt-get install busybox-static)" >&2; exit 1; }
case "$(ldd "$BUSYBOX" 2>&1 || true)" in *'not a dynamic'*) ;; *) echo "docker-images: $BUSYBOX is not statically linked (install busybox-static)" >&2; exit 1 ;; esac

APPLETS="sh ash tail head sleep echo cat dd ls rm mkdir yes kill ps df du seq true false httpd env wc sync touch printf grep"

# image_fresh <tag> <source sum>: the image exists and was built from these inputs
image_fresh() { [ "$(docker image inspect --format '{{ index .Config.Labels "homeostat.source" }}' "$1" 2>/dev/null || true)" = "$2" ]; }

# busybox_root <dir>: a root filesystem of busybox and its applets
busybox_root() {
  mkdir -p "$1/bin" "$1/tmp" "$1/var/log" "$1/var/www" "$1/data" "$1/etc"
  chmod 1777 "$1/tmp"
  cp "$BUSYBOX" "$1/bin/busybox"
  for a in $APPLETS; do ln -sf busybox "$1/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"
  echo ok >"$1/var/www/index.html"
}

# import <dir> <tag> <sum>
import_root() {
  tar -C "$1" -c . | docker import -c 'ENV PATH=/bin:/usr/bin' -c "LABEL homeostat.source=$3" - "$2" >/dev/null
  echo "docker-images: built $2"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sum_bb="$( (sha256sum "$BUSYBOX"; echo "$APPLETS") | sha256sum | cut -c1-16)"
if image_fresh homeostat/busybox:1 "$sum_bb"; then echo "docker-images: homeostat/busybox:1 is up to date"; else
  busybox_root "$work/bb"
  import_root "$work/bb" homeostat/busybox:1 "$sum_bb"
fi

if [ -n "$REDIS" ]; then
  libs="$(ldd "$REDIS" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u)"
  sum_redis="$( (sha256sum "$REDIS" $libs; echo "$sum_bb") | sha256sum | cut -c1-16)"
  if image_fresh homeostat/redis:1 "$sum_redis"; then echo "docker-images: homeostat/redis:1 is up to date"; else
    busybox_root "$work/redis"
    mkdir -p "$work/redis/usr/bin"
    cp "$(readlink -f "$REDIS")" "$work/redis/usr/bin/redis-server"
    for l in $libs; do mkdir -p "$work/redis$(dirname "$l")"; cp -L "$l" "$work/redis$l"; done
    import_root "$work/redis" homeostat/redis:1 "$sum_redis"
  fi
else
  echo "docker-images: no redis-server on this machine: homeostat/redis:1 not built" >&2
fi
