#!/usr/bin/env bash
# Instructions per proxied request: a deterministic measure of the gateway's work, for comparing two
# builds on a machine whose speed drifts too much for CPU time to tell a few percent apart.
#
#   Benchmarks/proxy/instructions.sh [--requests 1000] [--content-bytes N] [--keep DIR] GATEWAY_BINARY [GATEWAY_BINARY ...]
#
# For each binary: starts the mock provider (release build of this checkout) and the gateway under
# valgrind's callgrind (apt-get install valgrind), with one OpenAI key; sends 500 requests to warm up
# (with instrumentation off, then on), zeroes the counts, sends --requests more
# (POST /v1/chat/completions, small body, plain answer, one at a time on one keep-alive connection)
# and prints the instructions the gateway executed per request. The same binary measures the same
# within about 1% (timers and the file watcher run beside the requests). --keep DIR keeps each
# profile (DIR/NAME.callgrind, for callgrind_annotate). --content-bytes N makes the message's text N
# bytes long (a long conversation's request) instead of "Say hello.". The binary is copied without
# its debug information (valgrind cannot read what Swift's toolchain writes); symbols are kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=1000
content_bytes=0
keep=""
binaries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --content-bytes) content_bytes=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) binaries+=("$1"); shift ;;
  esac
done
case "$requests" in '' | *[!0-9]*) requests=0 ;; esac
case "$content_bytes" in '' | *[!0-9]*) echo "--content-bytes takes a whole number" >&2; exit 2 ;; esac
[ "$requests" -ge 1 ] || { echo "--requests takes a whole number of 1 or more" >&2; exit 2; }
[ ${#binaries[@]} -ge 1 ] || { echo "usage: $0 [--requests N] [--content-bytes N] [--keep DIR] GATEWAY_BINARY ..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 2; }
for binary in "${binaries[@]}"; do [ -x "$binary" ] || { echo "$binary is not an executable" >&2; exit 2; }; done
[ -z "$keep" ] || mkdir -p "$keep"

swift build -c release --product gatehouse-mock-upstream >/dev/null
work=$(mktemp -d /tmp/gatehouse-instructions.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

.build/release/gatehouse-mock-upstream --port 0 >"$work/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "^listening on " "$work/mock.out" && break; sleep 0.1; done
mock_url=$(sed -n 's/^listening on //p' "$work/mock.out")
[ -n "$mock_url" ] || { echo "the mock provider did not start: $(cat "$work/mock.out")" >&2; exit 1; }

for binary in "${binaries[@]}"; do
  name=$(basename "$binary")
  home="$work/home-$name"
  mkdir -p "$home"
  strip -g -o "$work/$name" "$binary"
  echo "{\"providers\": {\"openai\": {\"baseUrl\": \"$mock_url/v1\"}}}" >"$home/gatehouse.json"
  printf 'sk-bench-key' | GATEHOUSE_HOME="$home" "$binary" auth add openai --api-key-stdin >/dev/null
  GATEHOUSE_HOME="$home" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/$name.%p" \
    "$work/$name" gateway --port 0 >"$work/$name.out" 2>"$work/$name.log" &
  gateway=$!
  pids+=($gateway)
  for _ in $(seq 120); do grep -q "listening on" "$work/$name.log" && break; sleep 0.5; done
  url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/$name.log")
  [ -n "$url" ] || { echo "$name did not start under valgrind: $(tail -5 "$work/$name.log")" >&2; exit 1; }
  python3 - "$url" "$home/gateway-token" "$requests" "$gateway" "$content_bytes" <<'PY'
import http.client, subprocess, sys, urllib.parse
url, token_file, count, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
token = open(token_file).read().strip()
parts = urllib.parse.urlparse(url)
connection = http.client.HTTPConnection(parts.hostname, parts.port)
content_bytes = int(sys.argv[5])
content = b"Say hello." if content_bytes == 0 else (b"Say hello, " * (content_bytes // 11 + 1))[:content_bytes]
body = b'{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"' + content + b'"}],"max_tokens":16,"stream":false}'
def send(n):
    for _ in range(n):
        connection.request("POST", "/v1/chat/completions", body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"the gateway answered {answer.status}")
def control(*arguments):
    subprocess.run(["callgrind_control", *arguments, pid], check=True, capture_output=True)
send(300)
control("--instr=on")
send(200)
control("--zero")
send(count)
control("--dump")
PY
  kill "$gateway"
  wait "$gateway" 2>/dev/null || true
  dump=$(ls "$work/$name".*.1 2>/dev/null | head -1)
  [ -n "$dump" ] || { echo "no profile was written for $name" >&2; exit 1; }
  total=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$dump" | head -1 | awk '{print $1}')
  echo "$name: $((total / requests)) instructions per request ($total over $requests requests)"
  [ -z "$keep" ] || cp "$dump" "$keep/$name.callgrind"
  rm -f "$work/$name".*
done
