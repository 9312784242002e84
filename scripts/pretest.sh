#!/usr/bin/env bash
# Runs before `npm test`: makes sure the system peers the specs talk to are on this machine.
# Each peer is installed from Debian's packages when it is missing and we are root; otherwise
# the script stops and prints the exact command to run. Nothing here downloads anything else.
#
#   peer                 used by                         Debian package
#   python3 websockets   spec/interop (independent peer)  python3-websockets
#   openssl              spec/helpers/certs.ts (test      openssl
#                        certificates, made at test time)
set -euo pipefail

missing=()

if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
  missing+=(python3-websockets)
fi

if ! command -v openssl >/dev/null 2>&1; then
  missing+=(openssl)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "pretest: the specs need ${missing[*]}; install with:" >&2
  echo "  sudo sh -c '${install_cmd}'" >&2
  exit 1
fi

echo "pretest: installing ${missing[*]} (Debian packages)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
