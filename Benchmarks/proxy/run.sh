#!/usr/bin/env bash
# Proxy overhead: the same mock provider called directly, through a bare SwiftNIO proxy and through
# the gateway, in one run.
#
#   Benchmarks/proxy/run.sh [--duration 10] [--concurrency "1 10 50"] [--rounds 1] [--stream] [--allocations] [--dynamic-stdlib]
#
# Builds gatehouse, gatehouse-mock-upstream and gatehouse-bench in release mode with the Swift standard
# library linked in (`--static-swift-stdlib`, as the gateway is deployed; in .build/static and
# Benchmarks/.build/static; --dynamic-stdlib: the default release builds instead), starts the mock, the
# gateway and `gatehouse-bench bare-proxy` on loopback, and drives them with wrk. Prints throughput,
# p50/p99 latency, the latency each proxy adds, each proxy's CPU time per request and the gateway's
# memory (RSS). The bare proxy (no routing, credentials, health or log) is the floor of the stack on
# this machine: what any proxy built on SwiftNIO costs here. Machines' speed drifts: the last lines
# give each proxy's CPU per request as a multiple of the bare proxy's in the same run, which drifts
# much less, and each proxy's requests per second as a share of direct's in the same round (the
# median of the rounds' shares; a round ends with direct once more, and the share is of the mean
# of its two direct runs, so the proxy is compared with what the machine did around it, where the
# table's medians may come from different rounds). --rounds N runs the paths N times in turn at
# each concurrency and prints the median of each figure (errors are summed): one round can land in
# a slow spell of the machine.
# Then `gatehouse-bench interleave` measures the latency at concurrency 1 once more, for duration x
# rounds seconds, with the three paths taken in turn one request each (so all meet the same spells):
# the figures to read the latency a proxy adds from.
# --allocations also counts malloc calls per request (perf with uprobes, as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=10
concurrency="1 10 50"
rounds=1
stream=false
allocations=false
static=true
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --stream) stream=true; shift ;;
    --allocations) allocations=true; shift ;;
    --dynamic-stdlib) static=false; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$rounds" in '' | *[!0-9]*) rounds=0 ;; esac
[ "$rounds" -ge 1 ] || { echo "--rounds takes a whole number of 1 or more" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
if $allocations; then
  command -v perf >/dev/null || { echo "--allocations needs perf (apt-get install linux-perf)" >&2; exit 2; }
  [ "$(id -u)" = 0 ] || { echo "--allocations needs root (perf places a uprobe on malloc)" >&2; exit 2; }
fi

if $static; then
  build_options=(--static-swift-stdlib --build-path .build/static)
  bench_build_options=(--static-swift-stdlib --build-path Benchmarks/.build/static)
  bin=.build/static/release
  bench=Benchmarks/.build/static/release/gatehouse-bench
else
  build_options=()
  bench_build_options=()
  bin=.build/release
  bench=Benchmarks/.build/release/gatehouse-bench
fi
swift build -c release "${build_options[@]}" --product gatehouse >/dev/null
swift build -c release "${build_options[@]}" --product gatehouse-mock-upstream >/dev/null
swift build -c release --package-path Benchmarks "${bench_build_options[@]}" --product gatehouse-bench >/dev/null

work=$(mktemp -d /tmp/gatehouse-proxy-bench.XXXXXX)
added_probe=false
cleanup() {
  kill "${mock_pid:-}" "${gateway_pid:-}" "${bare_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  if $added_probe; then perf probe -q -d probe_libc:malloc >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/gatehouse-mock-upstream" --port 0 >"$work/mock.out" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do grep -q listening "$work/mock.out" && break; sleep 0.05; done
mock_url=$(sed -n 's/^listening on //p' "$work/mock.out")
"$bench" bare-proxy --upstream-port "${mock_url##*:}" >"$work/bare.out" 2>&1 &
bare_pid=$!
for _ in $(seq 100); do grep -q listening "$work/bare.out" && break; sleep 0.05; done
bare_url=$(sed -n 's/^listening on //p' "$work/bare.out")

export GATEHOUSE_HOME="$work/home"
mkdir -p "$GATEHOUSE_HOME"
cat >"$GATEHOUSE_HOME/gatehouse.json" <<JSON
{"providers": {"openai": {"baseUrl": "$mock_url/v1"}}}
JSON
printf 'sk-bench-key' | "$bin/gatehouse" auth add openai --api-key-stdin >/dev/null
GATEHOUSE_LOG_LEVEL=${GATEHOUSE_LOG_LEVEL:-info} "$bin/gatehouse" gateway --port 0 >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/gateway.log" && break; sleep 0.05; done
gateway_url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/gateway.log")
token=$(cat "$GATEHOUSE_HOME/gateway-token")

body_direct='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":'$stream'}'
body_gateway='{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":'$stream'}'

ticks=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_of() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run_wrk() { # url body token connections -> RESULT line
  local threads=$(( $4 < 2 ? 1 : 2 ))
  BENCH_BODY=$2 BENCH_TOKEN=$3 wrk -t"$threads" -c"$4" -d"${duration}s" --timeout 10s -s Benchmarks/proxy/post.lua "$1" | grep '^RESULT'
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "gatehouse proxy benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "command: Benchmarks/proxy/run.sh --duration $duration --concurrency \"$concurrency\" --rounds $rounds$($stream && echo ' --stream')$($allocations && echo ' --allocations')$($static || echo ' --dynamic-stdlib')"
echo "build: release, Swift standard library $($static && echo 'linked in (--static-swift-stdlib)' || echo 'as shared libraries')"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); mock, gateway and wrk share them"
echo "request: POST /v1/chat/completions, small body, $([ "$stream" = true ] && echo 'streamed answer (7 events)' || echo 'plain JSON answer'); gateway log level ${GATEHOUSE_LOG_LEVEL:-info}"
echo
# Warm up both paths (connection pools, caches).
BENCH_BODY=$body_direct BENCH_TOKEN=sk-bench-key wrk -t1 -c4 -d2s -s Benchmarks/proxy/post.lua "$mock_url/v1/chat/completions" >/dev/null
BENCH_BODY=$body_gateway BENCH_TOKEN=$token wrk -t1 -c4 -d2s -s Benchmarks/proxy/post.lua "$gateway_url/v1/chat/completions" >/dev/null
BENCH_BODY=$body_direct BENCH_TOKEN=none wrk -t1 -c4 -d2s -s Benchmarks/proxy/post.lua "$bare_url/v1/chat/completions" >/dev/null

if [ "$rounds" -gt 1 ]; then echo "each figure is the median of $rounds rounds (errors: the sum)"; fi
printf '%-5s %-8s %10s %9s %9s %9s %12s %12s %9s\n' conc path "req/s" "p50 us" "p99 us" "errors" "added p50" "added p99" "cpu us/req"

# One round's figures of a path, appended to $work/<concurrency>.<path>.<figure> (one line per round).
record() { # concurrency path wrk-line direct-wrk-line cpu-before cpu-after
  local req dur prefix=$work/$1.$2
  req=$(field "$3" requests); dur=$(field "$3" duration_us)
  awk -v r="$req" -v d="$dur" 'BEGIN {printf "%.0f\n", r / (d / 1e6)}' >>"$prefix.rps"
  field "$3" p50_us >>"$prefix.p50"
  field "$3" p99_us >>"$prefix.p99"
  echo $(( $(field "$3" errors) + $(field "$3" non2xx) )) >>"$prefix.errors"
  [ -n "$4" ] || return 0
  echo $(( $(field "$3" p50_us) - $(field "$4" p50_us) )) >>"$prefix.added50"
  echo $(( $(field "$3" p99_us) - $(field "$4" p99_us) )) >>"$prefix.added99"
  awk -v a="$5" -v b="$6" -v t="$ticks" -v r="$req" 'BEGIN {printf "%.1f\n", (b - a) / t * 1e6 / r}' >>"$prefix.cpu"
}
median() { # file [printf format] -> the median of its numbers (rounded to a whole number unless a format says)
  [ -s "$1" ] || return 0
  sort -g "$1" | awk -v f="${2:-%.0f}" '{v[NR] = $1} END {printf f, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
row() { # concurrency path
  local prefix=$work/$1.$2
  printf '%-5s %-8s %10s %9s %9s %9s %12s %12s %9s\n' "$1" "$2" "$(median "$prefix.rps")" "$(median "$prefix.p50")" \
    "$(median "$prefix.p99")" "$(awk '{s += $1} END {print s + 0}' "$prefix.errors")" "$(median "$prefix.added50")" \
    "$(median "$prefix.added99")" "$(median "$prefix.cpu")"
}

# A path's requests per second as a share of the mean of direct's before and after it in the same
# round, in percent.
share() { # wrk-line direct-wrk-line-before direct-wrk-line-after
  awk -v r="$(field "$1" requests)" -v d="$(field "$1" duration_us)" \
    -v r1="$(field "$2" requests)" -v d1="$(field "$2" duration_us)" -v r2="$(field "$3" requests)" -v d2="$(field "$3" duration_us)" \
    'BEGIN {if (d > 0 && r1 > 0 && d1 > 0 && r2 > 0 && d2 > 0) printf "%.2f\n", 100 * (r / d) / ((r1 / d1 + r2 / d2) / 2)}'
}

ratios=""
shares=""
for c in $concurrency; do
  for _ in $(seq "$rounds"); do
    direct=$(run_wrk "$mock_url/v1/chat/completions" "$body_direct" "sk-bench-key" "$c")
    bare0=$(cpu_of $bare_pid)
    bare=$(run_wrk "$bare_url/v1/chat/completions" "$body_direct" "none" "$c")
    bare1=$(cpu_of $bare_pid)
    cpu0=$(cpu_of $gateway_pid)
    via=$(run_wrk "$gateway_url/v1/chat/completions" "$body_gateway" "$token" "$c")
    cpu1=$(cpu_of $gateway_pid)
    direct_after=$(run_wrk "$mock_url/v1/chat/completions" "$body_direct" "sk-bench-key" "$c")
    record "$c" direct "$direct" ""
    record "$c" bare-nio "$bare" "$direct" "$bare0" "$bare1"
    record "$c" gateway "$via" "$direct" "$cpu0" "$cpu1"
    awk -v g=$((cpu1 - cpu0)) -v gr="$(field "$via" requests)" -v b=$((bare1 - bare0)) -v br="$(field "$bare" requests)" \
      'BEGIN {if (gr > 0 && b > 0 && br > 0) printf "%.4f\n", (g / gr) / (b / br)}' >>"$work/$c.ratio"
    share "$via" "$direct" "$direct_after" >>"$work/$c.gateway.share"
    share "$bare" "$direct" "$direct_after" >>"$work/$c.bare-nio.share"
  done
  row "$c" direct
  row "$c" bare-nio
  row "$c" gateway
  ratio=$(median "$work/$c.ratio" %.2f)
  ratios="$ratios c=$c x${ratio:-?}"
  gateway_share=$(median "$work/$c.gateway.share" %.1f)
  bare_share=$(median "$work/$c.bare-nio.share" %.1f)
  shares="$shares c=$c ${gateway_share:-?}% (bare-nio ${bare_share:-?}%)"
done
echo
"$bench" interleave --duration $((duration * rounds)) \
  --target direct "$mock_url/v1/chat/completions" sk-bench-key "$body_direct" \
  --target bare-nio "$bare_url/v1/chat/completions" - "$body_direct" \
  --target gateway "$gateway_url/v1/chat/completions" "@$GATEHOUSE_HOME/gateway-token" "$body_gateway"
echo
echo "gateway CPU per request as a multiple of the bare proxy's:$ratios"
echo "gateway requests per second as a share of direct's in the same round:$shares"
echo "gateway RSS after the runs: $(( $(rss_of $gateway_pid) / 1024 )) MiB (peak $(( $(awk '/VmHWM/ {print $2}' /proc/$gateway_pid/status) / 1024 )) MiB)"
echo "gateway log lines: $(wc -l < "$work/gateway.log")"

if $allocations; then
  # malloc calls per request at concurrency 10 (swift_allocObject goes through malloc), counted with
  # a uprobe on the libc both processes use.
  libc=$(awk '/libc.so.6/ {print $6; exit}' /proc/$gateway_pid/maps)
  if ! perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc '; then
    perf probe -q -x "$libc" malloc >/dev/null 2>&1 || { echo "perf could not place a probe on malloc in $libc" >&2; exit 1; }
    added_probe=true
  fi
  count_allocations() { # pid url body token -> mallocs per request
    local out=$work/allocations.$1 result
    perf stat -x, -e probe_libc:malloc -p "$1" -o "$out" &
    local stat_pid=$!
    sleep 0.3
    result=$(run_wrk "$2" "$3" "$4" 10)
    kill -INT $stat_pid
    wait $stat_pid 2>/dev/null || true
    awk -F, -v r="$(field "$result" requests)" '/probe_libc:malloc/ {if (r > 0) printf "%.1f", $1 / r; else printf "?"}' "$out"
  }
  bare_allocations=$(count_allocations $bare_pid "$bare_url/v1/chat/completions" "$body_direct" none)
  gateway_allocations=$(count_allocations $gateway_pid "$gateway_url/v1/chat/completions" "$body_gateway" "$token")
  echo "malloc calls per request at concurrency 10: bare-nio $bare_allocations, gateway $gateway_allocations"
fi
