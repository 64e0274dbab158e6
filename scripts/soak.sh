#!/usr/bin/env bash
# Soak test of ersatz emulate: STREAMS concurrent streams for DURATION of
# wall time against one emulator on 127.0.0.1, sampling the emulator's
# resident memory every SAMPLE seconds. Memory should stay flat: it follows
# requests in flight, not requests served.
#
#   scripts/soak.sh                      # 1,000 streams for 10 minutes
#   DURATION=2m scripts/soak.sh          # shorter
#   TIME_SCALE=10 DURATION=1m scripts/soak.sh   # 10 minutes of emulated time in one
#
# The deployment runs 64 sequences at a time (the rest wait, streams open)
# so that a small machine can carry the token rate. CI runs a 30-second
# version in-process: go test ./internal/cli -run TestSoakShort.
set -euo pipefail
STREAMS=${STREAMS:-1000}
DURATION=${DURATION:-10m}
TIME_SCALE=${TIME_SCALE:-1}
SAMPLE=${SAMPLE:-10}
PORT=${PORT:-18765}
MAX_SEQS=${MAX_SEQS:-64}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/ersatz" ./cmd/ersatz
"$work/ersatz" emulate --model Qwen/Qwen3-32B --chip h100 --chips 1 --max-num-seqs "$MAX_SEQS" \
  --host 127.0.0.1 --port "$PORT" --time-scale "$TIME_SCALE" --max-model-len 4096 2>"$work/emulate.log" &
emu=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
(
  echo "elapsed_s rss_mb heap_mb running waiting"
  start=$(date +%s)
  while kill -0 "$emu" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2/1024}' "/proc/$emu/status")
    m=$(curl -s "http://127.0.0.1:$PORT/metrics" || true)
    run=$(echo "$m" | awk '/^vllm:num_requests_running/ {print $2}')
    wait=$(echo "$m" | awk '/^vllm:num_requests_waiting/ {print $2}')
    heap=$(echo "$m" | awk '/^go_memstats_heap_alloc_bytes/ {printf "%.1f", $2/1048576}')
    echo "$(( $(date +%s) - start )) $rss $heap $run $wait"
    sleep "$SAMPLE"
  done
) >"$work/memory.txt" &
sampler=$!
"$work/ersatz" bench --url "http://127.0.0.1:$PORT" --endpoint /v1/chat/completions --concurrency "$STREAMS" \
  --input-tokens 256 --output-tokens 256 --requests 100000000 --duration "$DURATION" --timeout 30m \
  --result-json "$work/result.json"
kill -TERM "$emu"   # drains what is in flight
wait "$emu" || true
kill "$sampler" 2>/dev/null || true
echo "--- emulator resident memory (MB) and queue every ${SAMPLE}s"
cat "$work/memory.txt"
tail -2 "$work/emulate.log"
