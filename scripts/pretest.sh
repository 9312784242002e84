#!/usr/bin/env bash
# Runs before `npm test`: makes sure the system peers the specs talk to are on this machine.
# Each peer is installed from Debian's packages when it is missing and we are root; otherwise
# the script stops and prints the exact command to run. Nothing here downloads anything else.
# The shared Redis server is started when none answers on 127.0.0.1:6379.
#
#   peer                 used by                              Debian package
#   python3 websockets   spec/interop (independent peer)       python3-websockets
#   openssl              spec/helpers/certs.ts (test           openssl
#                        certificates, made at test time)
#   redis-server         spec/pubsub/redis (the shared server  redis-server (redis-cli too)
#                        on 6379, and servers of their own)
#   chromium             spec/examples/chat (a real browser,   chromium
#                        driven through playwright-core)
set -euo pipefail

missing=()

if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
  missing+=(python3-websockets)
fi
if ! command -v openssl >/dev/null 2>&1; then
  missing+=(openssl)
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  missing+=(redis-server)
fi
if [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "pretest: the specs need ${missing[*]}; install with:" >&2
    echo "  sudo sh -c '${install_cmd}'" >&2
    exit 1
  fi
  echo "pretest: installing ${missing[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The shared Redis server the backplane specs use (each test keeps to a prefix of its own).
# Debian's package may start one as a service; where none runs (a container), one is started
# here, keeping nothing on disk.
redis_start='redis-server --daemonize yes --bind "127.0.0.1 -::1" --port 6379 --save "" --appendonly no'
if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != "PONG" ]; then
  echo "pretest: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind "127.0.0.1 -::1" --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 100); do
    [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ] && break
    sleep 0.1
  done
  if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != "PONG" ]; then
    echo "pretest: no Redis answers on 127.0.0.1:6379 and it could not be started; run:" >&2
    echo "  ${redis_start}" >&2
    exit 1
  fi
fi
