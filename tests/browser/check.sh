#!/usr/bin/env bash
# Loads a hasim HTML report in Debian's headless Chromium and fails unless it really works there.
#
#   bash tests/browser/check.sh PAGE.html EXPECTED_CHARTS [SCREENSHOT.png]
#
# Passes (exit 0) only if all of these hold:
#   - Chromium loads the page and exits cleanly, and the page's own inline script ran
#     (it leaves data-charts-rendered on <body>; see reports/src/html.rs);
#   - data-charts-rendered == EXPECTED_CHARTS: that many chart SVGs have a non-zero rendered size;
#   - data-errors is absent or 0: no script error, unhandled rejection or console.error;
#   - data-tables-scrolling is 0: no table is wider than the page at a 1200 px window (no table
#     scrolls sideways on a 1280 px screen);
#   - Chromium's log has no console line at all and no "Uncaught": the report logs nothing itself,
#     and Chromium's log does not tell console levels apart, so any console message is a finding.
# With SCREENSHOT.png, also writes a 1200 px wide screenshot of the whole page there.
#
# Installs Chromium from Debian's packages when it is missing; it never skips. CHROMIUM=/path/to/binary
# overrides which browser runs.
# Exit codes: 0 pass, 1 check failed, 2 usage or setup error.
set -euo pipefail

die() { echo "check.sh: FAIL: $*" >&2; exit 1; }
usage() { echo "usage: bash tests/browser/check.sh PAGE.html EXPECTED_CHARTS [SCREENSHOT.png]" >&2; exit 2; }

[[ $# -ge 2 && $# -le 3 ]] || usage
page=$1
expected=$2
screenshot=${3:-}
[[ $expected =~ ^[0-9]+$ ]] || usage
[[ -f $page && -s $page ]] || { echo "check.sh: no such page (or empty): $page" >&2; exit 2; }
page_abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
# A file URL: percent-encode what would otherwise end or confuse the path.
url_path=$(printf '%s' "$page_abs" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')
url="file://$url_path"

chromium_bin=${CHROMIUM:-}
if [[ -z $chromium_bin ]]; then
    if ! command -v chromium > /dev/null 2>&1; then
        echo "check.sh: installing Debian's chromium" >&2
        if [[ $(id -u) -ne 0 ]]; then
            echo "check.sh: chromium is missing and installing it needs root" >&2
            exit 2
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null
    fi
    chromium_bin=$(command -v chromium) || { echo "check.sh: chromium still missing after install" >&2; exit 2; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The flags that work as root on a closed network: no sandbox (root), no GPU, and none of the
# background connections (they are refused here, many at a time). A fresh profile each run.
run_chromium() {
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --disable-extensions --mute-audio --hide-scrollbars \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@"
}

# Lines of Chromium's log that would be the page's own doing: anything it wrote to the console,
# and any uncaught exception. (The rest of the log is Chromium's own noise: D-Bus, VA-API...)
page_problems() {
    grep -E ':CONSOLE[:(]|Uncaught' "$1" || true
}

# 1. Load the page, let its scripts run, and dump the DOM as it is then.
dom=$work/dom.html
log=$work/chromium.log
rc=0
run_chromium --window-size=1200,3000 --virtual-time-budget=5000 --dump-dom "$url" \
    > "$dom" 2> "$log" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "--- Chromium's log (last 30 lines, D-Bus noise left out):" >&2
    grep -v 'dbus' "$log" | tail -n 30 >&2 || true
    die "Chromium exited with code $rc loading $page"
fi
grep -q '<body' "$dom" || die "Chromium dumped no DOM for $page"

# The <body> start tag carries the page script's findings (its values never contain '>').
body=$(grep -o -m 1 '<body[^>]*>' "$dom" | head -n 1)
attr() { printf '%s' "$body" | sed -n -e "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p"; }
rendered=$(attr data-charts-rendered)
total=$(attr data-charts-total)
errors=$(attr data-errors)
messages=$(attr data-error-messages)
height=$(attr data-page-height)
scrolling=$(attr data-tables-scrolling)
scrolling_captions=$(attr data-tables-scrolling-captions)

problems=$(page_problems "$log")
failures=()
if [[ -z $rendered ]]; then
    failures+=("the page's script did not run: <body> has no data-charts-rendered (is this a hasim report?)")
elif [[ $rendered != "$expected" ]]; then
    failures+=("$rendered chart(s) rendered with a size (of ${total:-?} on the page), expected $expected")
fi
if [[ -n $errors && $errors != 0 ]]; then
    failures+=("the page recorded $errors script error(s): ${messages:-no message}")
fi
if [[ -n $scrolling && $scrolling != 0 ]]; then
    failures+=("$scrolling table(s) scroll sideways at 1200 px: ${scrolling_captions:-?}")
fi
if [[ -n $problems ]]; then
    failures+=("Chromium's log has console output or an uncaught exception:"$'\n'"$problems")
fi

# 2. The picture, whatever the verdict: it helps to see a failing page.
if [[ -n $screenshot ]]; then
    shot_height=3000
    if [[ $height =~ ^[0-9]+$ && $height -gt 0 ]]; then
        shot_height=$((height < 16000 ? height : 16000))
    fi
    shot_abs=$(cd "$(dirname "$screenshot")" && pwd)/$(basename "$screenshot")
    rm -f "$shot_abs"
    rc=0
    run_chromium --window-size=1200,"$shot_height" --virtual-time-budget=5000 \
        --screenshot="$shot_abs" "$url" > /dev/null 2> "$work/shot.log" || rc=$?
    if [[ $rc -ne 0 || ! -s $shot_abs ]]; then
        failures+=("no screenshot written to $screenshot (Chromium exit code $rc)")
    else
        shot_problems=$(page_problems "$work/shot.log")
        [[ -z $shot_problems ]] || failures+=("console output while taking the screenshot:"$'\n'"$shot_problems")
        echo "check.sh: screenshot (1200x$shot_height) written to $screenshot"
    fi
fi

if [[ ${#failures[@]} -gt 0 ]]; then
    for f in "${failures[@]}"; do echo "check.sh: FAIL: $page: $f" >&2; done
    exit 1
fi
echo "check.sh: ok: $page: $rendered of $expected chart(s) rendered, no script errors, no console output ($("$chromium_bin" --version 2> /dev/null | head -n 1))"
