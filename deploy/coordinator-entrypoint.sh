#!/bin/sh
# Entrypoint of the coordinator image. Volumes (Fly.io's among them) mount root-owned, so when the
# container starts as root this hands the data directory to the unprivileged user and then runs the
# command as that user, with no way back to root (setpriv from util-linux, part of every Debian).
set -eu
user="${HEALTHMESH_USER:-node}"
data="${HEALTHMESH_DATA:-/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$data"
  chown -R "$user:" "$data"
  exec setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
fi
exec "$@"
