#!/usr/bin/env bash
# Builds the small images the Docker tests and scenarios S06–S12 run, from this machine's own
# binaries (no registry is reachable here): `docker import` of a root filesystem.
#   homeostat/busybox:1   busybox-static (sh, tail, dd, httpd…): the web server and the fault images
#   homeostat/redis:1     redis-server and its shared libraries, on busybox
#   homeostat/postgres:1  PostgreSQL 15 (/usr/lib/postgresql/15) and its shared libraries, on busybox:
#                         runs as the user postgres; initdb on first start (PGDATA); PGPORT, PG_APP_ROLE
#   homeostat/web:1       busybox httpd on WEB_PORT (default 8080), access log in /var/log/web
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

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
if [ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/initdb" ]; then
  pgroot="$(dirname "$PGBIN")"
  pgshare="/usr/share/postgresql/$(basename "$pgroot")"
  # the server's loadable modules, without the LLVM JIT (100+ MB of libLLVM; the image runs with jit=off)
  pgmods="$(find "$pgroot/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' | sort)"
  pglibs="$(ldd "$PGBIN/postgres" "$PGBIN/initdb" $pgmods 2>/dev/null | awk '/=>/ && $3 ~ /^\// { print $3 } /ld-linux/ { print $1 }' | sort -u)"
  # the start script: initdb (as postgres, trust on loopback) on first start, the application role
  # made in single-user mode, then the server; `docker stop`'s SIGTERM becomes a fast shutdown (SIGINT),
  # so held client connections never stall a stop (`docker import` cannot set STOPSIGNAL)
  pgstart='#!/bin/sh
set -e
: "${PGDATA:=/var/lib/postgresql/data}" "${PGPORT:=5432}" "${PG_MAX_CONNECTIONS:=20}"
case "${PG_APP_ROLE:-}" in *[!a-z0-9_]*|[!a-z_]*) echo "PG_APP_ROLE must match [a-z_][a-z0-9_]*" >&2; exit 2 ;; esac
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  if [ -n "${PG_APP_ROLE:-}" ]; then echo "CREATE ROLE $PG_APP_ROLE LOGIN NOSUPERUSER" | postgres --single -j -D "$PGDATA" postgres >/dev/null; fi
  echo "homeostat/postgres: initialised $PGDATA"
fi
postgres -D "$PGDATA" -p "$PGPORT" -c listen_addresses="${PG_LISTEN:-127.0.0.1}" -c unix_socket_directories=/tmp -c max_connections="$PG_MAX_CONNECTIONS" -c fsync=off -c shared_buffers=16MB -c jit=off "$@" &
pid=$!
trap "kill -INT $pid" TERM INT
while kill -0 "$pid" 2>/dev/null; do wait "$pid" && code=0 || code=$?; done
exit "${code:-0}"'
  sum_pg="$( (sha256sum "$PGBIN/postgres" "$PGBIN/initdb" $pgmods $pglibs; find "$pgshare" -type f | sort | xargs cat | sha256sum; echo "$pgstart"; echo "$sum_bb") | sha256sum | cut -c1-16)"
  if image_fresh homeostat/postgres:1 "$sum_pg"; then echo "docker-images: homeostat/postgres:1 is up to date"; else
    r="$work/postgres"
    busybox_root "$r"
    echo 'postgres:x:70:70:PostgreSQL:/var/lib/postgresql:/bin/sh' >>"$r/etc/passwd"
    echo 'postgres:x:70:' >>"$r/etc/group"
    mkdir -p "$r$PGBIN" "$r$pgroot/lib" "$r/usr/share" "$r/usr/local/bin" "$r/var/lib/postgresql"
    cp "$PGBIN/postgres" "$PGBIN/initdb" "$r$PGBIN/"
    for m in $pgmods; do cp "$m" "$r$pgroot/lib/"; done
    for l in $pglibs; do mkdir -p "$r$(dirname "$l")"; cp -L "$l" "$r$l"; done
    mkdir -p "$r$(dirname "$pgshare")" && cp -r "$pgshare" "$r$pgshare"
    [ -d /usr/share/zoneinfo ] && cp -r /usr/share/zoneinfo "$r/usr/share/zoneinfo"
    printf '%s\n' "$pgstart" >"$r/usr/local/bin/hs-postgres"
    chmod 755 "$r/usr/local/bin/hs-postgres"
    chown 70:70 "$r/var/lib/postgresql" && chmod 700 "$r/var/lib/postgresql"
    tar -C "$r" -c . | docker import -c "ENV PATH=/bin:/usr/bin:$PGBIN:/usr/local/bin" -c 'ENV TZ=UTC' -c 'ENV PGDATA=/var/lib/postgresql/data' \
      -c 'USER postgres' -c 'ENTRYPOINT ["/usr/local/bin/hs-postgres"]' -c "LABEL homeostat.source=$sum_pg" - homeostat/postgres:1 >/dev/null
    echo "docker-images: built homeostat/postgres:1"
  fi
else
  echo "docker-images: no PostgreSQL 15 in $PGBIN (apt-get install postgresql-15): homeostat/postgres:1 not built" >&2
fi

# homeostat/web:1 — the web-server target: busybox httpd in the foreground, one access line per
# request appended to /var/log/web/access.log (bind /var/log/web to a host directory to watch it)
webstart='#!/bin/sh
mkdir -p /var/log/web
exec httpd -f -v -p "${WEB_LISTEN:-127.0.0.1}:${WEB_PORT:-8080}" -h /var/www "$@" 2>>/var/log/web/access.log'
sum_web="$( (echo "$webstart"; echo "$sum_bb") | sha256sum | cut -c1-16)"
if image_fresh homeostat/web:1 "$sum_web"; then echo "docker-images: homeostat/web:1 is up to date"; else
  busybox_root "$work/web"
  mkdir -p "$work/web/usr/local/bin" "$work/web/var/log/web"
  printf '%s\n' "$webstart" >"$work/web/usr/local/bin/hs-web"
  chmod 755 "$work/web/usr/local/bin/hs-web"
  tar -C "$work/web" -c . | docker import -c 'ENV PATH=/bin:/usr/bin:/usr/local/bin' -c 'ENTRYPOINT ["/usr/local/bin/hs-web"]' -c "LABEL homeostat.source=$sum_web" - homeostat/web:1 >/dev/null
  echo "docker-images: built homeostat/web:1"
fi
