#!/bin/sh
# Start-up of the service in its image (Dockerfile): checks that the data directory is writable
# by the user the process runs as, then runs the built server in place of this shell (so it gets
# the signals; compose's `init: true` reaps children). The application directory is read-only
# to that user: everything the service writes (the embedded store, its token key, the mailbox
# file) goes under DATA_DIR.
set -eu

APP_DIR=${APP_DIR:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
DATA_DIR=${DATA_DIR:-/data}
export DATA_DIR

who="$(id -un 2>/dev/null || echo "?") (uid $(id -u))"

if ! mkdir -p "$DATA_DIR" 2>/dev/null; then
  echo "start: cannot create DATA_DIR $DATA_DIR as $who. Mount a volume there that this user can write (the image's /data belongs to node, uid 1000), or set DATA_DIR to a writable directory." >&2
  exit 78
fi
probe="$DATA_DIR/.write-probe-$$"
if ! (: > "$probe") 2>/dev/null; then
  echo "start: DATA_DIR $DATA_DIR is not writable by $who. Mount a volume there that this user can write (the image's /data belongs to node, uid 1000), or set DATA_DIR to a writable directory." >&2
  exit 78
fi
rm -f "$probe"

if [ ! -f "$APP_DIR/dist/src/index.js" ]; then
  echo "start: $APP_DIR/dist/src/index.js is missing: the image was built without running npm run build." >&2
  exit 78
fi

cd "$APP_DIR"
exec node dist/src/index.js "$@"
