#!/usr/bin/env bash
# The report in a real browser: generates a job with the saegeo binary (generate, neighbors,
# score --explain --summary), gives one riskiest sample a hostile text, writes `saegeo report`,
# renders it with headless Chromium (Debian's, installed when missing: run as root in CI) and checks
# the rendered DOM: the histogram's bars, the sample rows, the hostile text shown as text and no
# script element. Keeps a screenshot and prints its path. Then times `saegeo report` on 1,000,000
# scored samples (a scores .jsonl with explanations and a dataset, made with awk) and prints the
# report's size and the seconds. SAEGEO names the binary; default: a release build if there is
# one (.build-rel, or package-test.sh's static .build-static), else the debug build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SAEGEO:-}" ]; then
    SAEGEO=$root/.build-rel/release/saegeo
    [ -x "$SAEGEO" ] || SAEGEO=$root/.build-static/release/saegeo
    [ -x "$SAEGEO" ] || SAEGEO=$root/.build/debug/saegeo
fi
[ -x "$SAEGEO" ] || { echo "report-test: no saegeo at $SAEGEO; run swift build first" >&2; exit 1; }
fail() { echo "report-test: FAIL: $*" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "report-test: installing chromium"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium) || fail "chromium did not install"
fi
work=$(mktemp -d /tmp/saegeo-report.XXXXXX)   # kept: it holds the screenshot
cd "$work"
chrome() { "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars "$@" 2>>chromium.log; }

"$SAEGEO" generate job --features 2048 --dimension 64 --samples 1500 --tokens 4 2>/dev/null
"$SAEGEO" neighbors --sae job/sae --queries job/toxic.txt -k 10 --device cpu -o neighbors.safetensors 2>/dev/null
"$SAEGEO" score --sae job/sae --toxic job/toxic.txt --activations job/activations.safetensors --offsets offsets \
    --device cpu --explain 3 --summary summary.json -o scores.jsonl 2>/dev/null
# The riskiest sample's line becomes hostile markup (the highest score, ties to the lower sample;
# score writes samples in order). One awk, no `| head`: a pipe closed early fails under pipefail.
top=$(awk -F'[:,]' 'NR == 1 || $4 + 0 > best { best = $4 + 0; top = $2 + 0 } END { print top }' scores.jsonl)
awk -v top="$top" 'NR == top + 1 { print "{\"text\": \"<script>alert(1)</script> and <b>bold</b>\"}"; next } { print }' \
    job/dataset.jsonl > dataset.jsonl
"$SAEGEO" report --scores scores.jsonl --summary summary.json --neighbors neighbors.safetensors --dataset dataset.jsonl \
    --sae job/sae --toxic job/toxic.txt --drop-fraction 0.1 --top 25 -o report.html 2>/dev/null
bytes=$(stat -c %s report.html)
! grep -qi '<script' report.html || fail "report.html holds a script tag"
! grep -qiE 'https?://' report.html || fail "report.html references something outside"

start=$(date +%s.%N)
chrome --dump-dom "file://$work/report.html" > dom.html
end=$(date +%s.%N)
chrome --screenshot="$work/report.png" --window-size=1280,2600 "file://$work/report.html" >/dev/null
[ -s report.png ] || fail "no screenshot"
bars=$(grep -o '<rect class="bar"' dom.html | wc -l)
rows=$(grep -o '<tr class="sample"' dom.html | wc -l)
[ "$bars" -eq 60 ] || fail "the rendered histogram has $bars bars, not 60"
[ "$rows" -eq 25 ] || fail "the rendered table has $rows sample rows, not 25"
# The browser parsed the hostile line as text: escaped in the serialized DOM, no element made of it.
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;' dom.html || fail "the hostile text is not shown as text"
! grep -qi '<script' dom.html || fail "the rendered page holds a script element"
! grep -qF '<b>bold</b>' dom.html || fail "the hostile <b> became markup"
# The same counts as filter.
"$SAEGEO" filter --scores scores.jsonl --drop-fraction 0.1 --dropped dropped.txt 2>/dev/null
grep -qF "data-dropped=\"$(wc -l < dropped.txt)\"" dom.html || fail "the dropped count differs from filter's"
echo "report-test: screenshot $work/report.png"
echo "report-test: passed ($bytes bytes, rendered in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s)"

# A million scored samples, as score --explain 3 writes them, with their dataset.
awk -v n=1000000 'BEGIN { srand(1); for (i = 0; i < n; i++) { s = rand(); s = s * s * s * 0.6; t = int(rand() * 4)
    printf "{\"sample\": %d, \"score\": %.7g, \"active\": %d, \"explain\": [{\"feature\": %d, \"activation\": %.5f, \"proximity\": %.5f, \"nearest_toxic\": %d}, {\"feature\": %d, \"activation\": %.5f, \"proximity\": %.5f, \"nearest_toxic\": %d}, {\"feature\": %d, \"activation\": %.5f, \"proximity\": %.5f, \"nearest_toxic\": %d}]}\n",
        i, s, 50 + int(rand() * 350), int(rand() * 16384), rand() * 5, s + 0.2, t, int(rand() * 16384), rand() * 5, s + 0.1, t, int(rand() * 16384), rand() * 5, s, t } }' > million.jsonl
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "{\"text\": \"sample %d of the million\"}\n", i }' > million-dataset.jsonl
start=$(date +%s.%N)
"$SAEGEO" report --scores million.jsonl --dataset million-dataset.jsonl --top 50 -o million.html 2>/dev/null
end=$(date +%s.%N)
echo "report-test: 1,000,000 samples ($(stat -c %s million.jsonl) bytes of scores): report of $(stat -c %s million.html) bytes in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s ($SAEGEO)"
rm -f million.jsonl million-dataset.jsonl
