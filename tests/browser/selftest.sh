#!/usr/bin/env bash
# Tests tests/browser/check.sh itself: it must pass a good report page and fail broken ones.
#
#   bash tests/browser/selftest.sh [SAMPLE.html] [SCREENSHOT.png]
#
# Without SAMPLE.html, writes the sample page of reports/src/html.rs's tests (two plotters charts)
# with `HASIM_HTML_SAMPLE=... cargo test -p reports --lib html::tests::write_sample_page_when_asked`.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sample=${1:-}
screenshot=${2:-}
if [[ -z $sample ]]; then
    sample=$work/sample.html
    HASIM_HTML_SAMPLE=$sample cargo test --locked -q -p reports --lib \
        html::tests::write_sample_page_when_asked > /dev/null
fi
[[ -s $sample ]] || { echo "selftest: no sample page at $sample" >&2; exit 2; }
charts=$(grep -c '<figure class="chart"' "$sample" || true)
[[ $charts -ge 2 ]] || { echo "selftest: the sample needs at least 2 charts, has $charts" >&2; exit 2; }

passed=0
failed=0
expect() { # expect pass|fail NAME PAGE EXPECTED_CHARTS [SCREENSHOT]
    local want=$1 name=$2 rc=0 out
    shift 2
    out=$(bash tests/browser/check.sh "$@" 2>&1) || rc=$?
    if [[ $want == pass && $rc -eq 0 ]] || [[ $want == fail && $rc -eq 1 ]]; then
        passed=$((passed + 1))
        echo "selftest: ok   $name: check.sh exit $rc as expected"
    else
        failed=$((failed + 1))
        echo "selftest: FAIL $name: check.sh exit $rc, wanted ${want}"
    fi
    printf '%s\n' "$out" | sed 's/^/    /'
}

# Broken variants of the good page (sed changes the first match only, so one chart of several).
sed '0,/<svg /s//<svg style="display:none" /' "$sample" > "$work/hidden-chart.html"
sed -E '0,/<svg width="[0-9]+"/s//<svg width="0"/' "$sample" > "$work/zero-width-chart.html"
sed 's#</body>#<script>throw new Error("selftest: boom")</script>\n</body>#' "$sample" > "$work/throws.html"
sed 's#</body>#<script>Promise.reject(new Error("selftest: rejected"))</script>\n</body>#' "$sample" > "$work/rejects.html"
sed 's#</body>#<script>console.error("selftest: complaint")</script>\n</body>#' "$sample" > "$work/console-error.html"
sed 's#</body>#<div class="table-wrap"><table><caption>wide</caption><tr><td class="num">'"$(printf '9%.0s' $(seq 1 400))"'</td></tr></table></div>\n</body>#' "$sample" > "$work/wide-table.html"
sed '/^<script>$/,/^<\/script>$/d' "$sample" > "$work/no-script.html"
grep -q '<script>' "$work/no-script.html" && { echo "selftest: could not strip the script" >&2; exit 2; }

expect pass "good page" "$sample" "$charts" ${screenshot:+"$screenshot"}
expect fail "good page, wrong chart count" "$sample" $((charts + 1))
expect fail "one chart display:none" "$work/hidden-chart.html" "$charts"
expect fail "one chart zero width" "$work/zero-width-chart.html" "$charts"
expect fail "a script that throws" "$work/throws.html" "$charts"
expect fail "an unhandled rejection" "$work/rejects.html" "$charts"
expect fail "console.error" "$work/console-error.html" "$charts"
expect fail "a table wider than the page" "$work/wide-table.html" "$charts"
expect fail "the page's script missing" "$work/no-script.html" "$charts"

echo "selftest: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
