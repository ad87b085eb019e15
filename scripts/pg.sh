#!/bin/sh
# A throwaway PostgreSQL cluster for perfxl's server tests (Debian's postgresql package).
#   scripts/pg.sh start [DIR]  -> initialises DIR (default: a new temp dir), starts it on a free
#                                 port, prints the SQLAlchemy URL on stdout (last line)
#   scripts/pg.sh stop DIR     -> stops it
# Runs the server as the `postgres` user when called as root (PostgreSQL refuses root).
set -eu
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 3; }
RUN=""
if [ "$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi
case "${1:-}" in
start)
    DIR=${2:-$(mktemp -d /tmp/perfxl-pg.XXXXXX)}
    mkdir -p "$DIR"
    [ -z "$RUN" ] || chown postgres "$DIR"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        $RUN "$BIN/initdb" -D "$DIR/data" -U perfxl --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1
    fi
    $RUN "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    $RUN "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U perfxl perfxl 2>/dev/null || true
    echo "$DIR" >&2
    echo "postgresql+psycopg://perfxl@127.0.0.1:$PORT/perfxl"
    ;;
stop)
    $RUN "$BIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: $0 start [DIR] | stop DIR" >&2; exit 2 ;;
esac
