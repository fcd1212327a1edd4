#!/usr/bin/env bash
# Uploads one large file through a vendor link of a release build and reports the wall time and
# how much the server's peak resident memory (VmHWM) grew; then times curl writing the same file
# straight into the same directory (file:// upload) for comparison. Usage:
#   bash bench/evidence-upload.sh [SIZE_MIB]        (default 1024)
# Everything runs on 127.0.0.1 in a temporary directory that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-1024}
port=18765
cargo build --release --quiet
bin=$PWD/target/release/portal
work=$(mktemp -d)
export PORTAL_DATA_DIR=$work/data
export PORTAL_BIND=127.0.0.1:$port
export PORTAL_EVIDENCE_MAX_BYTES=$(( (size_mib + 16) * 1024 * 1024 ))
export RUST_LOG=warn
base=http://127.0.0.1:$port

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

token=$("$bin" tenant create --name "Benchmark Hospital" --admin-email bench@bench.example.org --json | json_field '["api_token"]')
"$bin" serve > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" > /dev/null && break; sleep 0.1; done

auth=(-H "Authorization: Bearer $token" -H "Content-Type: application/json")
vendor=$(curl -sf "${auth[@]}" -d '{"name":"Benchmark Vendor","contacts":[{"name":"Val","email":"val@vendor.example.com"}]}' "$base/api/v1/vendors" | json_field '["id"]')
curl -sf "${auth[@]}" -d "{\"vendor_id\":\"$vendor\",\"questionnaire\":\"healthcare-vendor-security-lite\",\"due_date\":\"2099-01-31\"}" "$base/api/v1/assessments" > /dev/null
for _ in $(seq 1 100); do ls "$PORTAL_DATA_DIR"/outbox/*.eml > /dev/null 2>&1 && break; sleep 0.1; done
link=$(python3 - "$PORTAL_DATA_DIR"/outbox/*.eml <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("=\n", "").replace("=\r\n", "")
print(re.search(r"http://127\.0\.0\.1:\d+/a/[A-Za-z0-9_-]+", text).group(0))
PY
)

head -c $(( size_mib * 1024 * 1024 )) /dev/urandom > "$work/upload.bin"
peak_before=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
start=$(date +%s.%N)
status=$(curl -s -o /dev/null -w '%{http_code}' -F "file=@$work/upload.bin;filename=large-report.pdf" "$link/evidence")
end=$(date +%s.%N)
peak_after=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

raw_start=$(date +%s.%N)
curl -s -T "$work/upload.bin" "file://$PORTAL_DATA_DIR/evidence/raw-copy.bin"
raw_end=$(date +%s.%N)

python3 - "$status" "$start" "$end" "$peak_before" "$peak_after" "$raw_start" "$raw_end" "$size_mib" <<'PY'
import sys
status, start, end, before, after, raw_start, raw_end, size = sys.argv[1:]
portal = float(end) - float(start)
raw = float(raw_end) - float(raw_start)
print(f"upload status:          {status} (303 = stored)")
print(f"file size:              {size} MiB")
print(f"portal upload:          {portal:.2f} s ({int(size) / portal:.0f} MiB/s)")
print(f"curl file:// copy:      {raw:.2f} s ({int(size) / raw:.0f} MiB/s)")
print(f"portal / raw speed:     {raw / portal * 100:.0f} %")
print(f"peak RSS before upload: {int(before) / 1024:.1f} MiB")
print(f"peak RSS after upload:  {int(after) / 1024:.1f} MiB (grew {(int(after) - int(before)) / 1024:.1f} MiB)")
PY
