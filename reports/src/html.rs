//! One self-contained HTML page for a report: headline figures, SLO verdicts, inline SVG charts,
//! tables, notes, how to reproduce the run, and the scenario exactly as run.
//!
//! The page needs nothing but itself: the style sheet and a small script are inline, the charts
//! are inline SVG (selectable, searchable, printable), and nothing is fetched. Output is
//! deterministic: equal input gives byte-identical pages (no timestamps, no paths but the caller's).
//!
//! The inline script leaves two facts on `<body>` for a headless-browser check
//! (`tests/browser/check.sh`) to read from the dumped DOM: `data-charts-rendered`, how many chart
//! SVGs have a non-zero rendered size once the page has loaded, and `data-errors`, how many
//! script errors, unhandled promise rejections or `console.error` calls occurred (with
//! `data-error-messages`); also `data-charts-total` and `data-page-height`, for diagnostics and
//! a full-page screenshot.

use std::fmt::Write;

/// A table: caption, header cells, rows of cells (plain text; you escape it). Cells that look
/// numeric are right-aligned.
#[derive(Clone, Debug, Default)]
pub struct HtmlTable {
    /// Shown above the table.
    pub caption: String,
    /// Column headings.
    pub header: Vec<String>,
    /// The rows, each a list of cells.
    pub rows: Vec<Vec<String>>,
}

/// One verdict line: the expectation as written, met or not, and the detail
/// ("0.9987 < 0.999 by 0.0003").
#[derive(Clone, Debug)]
pub struct HtmlVerdict {
    /// The expectation as written: `availability ≥ 0.999`.
    pub expectation: String,
    /// Whether it holds.
    pub met: bool,
    /// The figures behind the verdict.
    pub detail: String,
}

/// A chart: caption and the SVG document text produced by plotters (may start with an
/// `<?xml ...?>` prolog or a DOCTYPE: both are stripped before inlining).
#[derive(Clone, Debug)]
pub struct HtmlChart {
    /// Shown under the chart.
    pub caption: String,
    /// The SVG document (trusted: our own output, inlined as is).
    pub svg: String,
}

/// Everything one report page shows. Empty sections are left out.
#[derive(Clone, Debug, Default)]
pub struct HtmlPage {
    /// The page title, e.g. `hasim report — web-tier`.
    pub title: String,
    /// Key figures shown big at the top: `("Availability", "99.95 %")`, `("p99", "212 ms")`.
    pub headline: Vec<(String, String)>,
    /// SLO expectations, each with a PASS/FAIL badge; empty = section omitted.
    pub verdicts: Vec<HtmlVerdict>,
    /// Tables, after the charts.
    pub tables: Vec<HtmlTable>,
    /// Charts, after the verdicts.
    pub charts: Vec<HtmlChart>,
    /// Caveats for the reader.
    pub notes: Vec<String>,
    /// The scenario path as given on the command line.
    pub scenario_path: String,
    /// The scenario file exactly as run.
    pub scenario_text: String,
    /// Seed, replication, hasim version, scenario hash, fingerprint...
    pub run_facts: Vec<(String, String)>,
    /// The command that reproduces this report.
    pub reproduce: String,
}

/// HTML-escapes text (`&`, `<`, `>`, `"`, `'`), for element content and attribute values alike.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --zebra: #f6f8fa; --head: #eef1f4;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --accent: #0969da;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0 auto; max-width: 1000px; padding: 28px 24px 56px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
  font-size: 16px; line-height: 1.5; color: var(--fg); background: #fff;
}
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2.2rem 0 .8rem; padding-bottom: .3rem; border-bottom: 1px solid var(--border); }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; }
nav.toc { display: flex; flex-wrap: wrap; gap: .1rem 1rem; font-size: .9rem; margin: 0 0 1rem; }
nav.toc a { white-space: nowrap; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
dl.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; margin: 1.2rem 0 0; }
dl.headline > div { border: 1px solid var(--border); border-radius: 8px; padding: 10px 14px; background: #fff; }
dl.headline dt { font-size: .78rem; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
dl.headline dd { margin: .15rem 0 0; font-size: 1.5rem; font-weight: 650; line-height: 1.2; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
p.summary { margin: 0 0 .6rem; font-weight: 600; }
p.summary.all-met { color: var(--pass); }
p.summary.not-met { color: var(--fail); }
ul.verdicts { list-style: none; padding: 0; margin: 0; border-top: 1px solid var(--border); }
ul.verdicts li { display: flex; flex-wrap: wrap; gap: 2px 14px; align-items: baseline; padding: 8px 4px; border-bottom: 1px solid var(--border); }
ul.verdicts .expectation { font-weight: 600; }
ul.verdicts .detail { color: var(--muted); font-variant-numeric: tabular-nums; }
.badge { flex: none; display: inline-block; min-width: 4.6em; text-align: center; font-size: .78rem; font-weight: 700; letter-spacing: .04em; padding: 1px 8px; border-radius: 999px; border: 1px solid; }
.badge.pass { color: var(--pass); background: var(--pass-bg); border-color: var(--pass); }
.badge.fail { color: #fff; background: var(--fail); border-color: var(--fail); }
figure.chart { margin: 0 0 28px; padding: 12px; border: 1px solid var(--border); border-radius: 8px; background: #fff; }
figure.chart > svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure.chart figcaption, table caption { font-size: .92rem; color: var(--muted); }
figure.chart figcaption { margin-top: 8px; text-align: center; }
p.missing { color: var(--fail); font-style: italic; }
.table-wrap { overflow-x: auto; margin: 0 0 28px; }
table { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
table caption { caption-side: top; text-align: left; padding: 0 0 6px; font-weight: 600; color: var(--fg); }
th, td { padding: 5px 12px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--border); }
thead th { background: var(--head); border-bottom: 2px solid var(--border); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--zebra); }
th.num, td.num { text-align: right; }
td.num { white-space: nowrap; }
td:not(.num) { overflow-wrap: anywhere; }
table.facts th { background: none; font-weight: 600; white-space: nowrap; color: var(--muted); }
table.facts td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
ul.notes { padding-left: 1.3rem; }
ul.notes li { margin: .25rem 0; }
ul.notes li.text { list-style: none; margin-left: -1.3rem; }
ul.notes li.text pre { overflow-x: auto; font-size: .8rem; background: #f6f8fa; padding: .6rem; border-radius: 4px; }
pre { background: var(--zebra); border: 1px solid var(--border); border-radius: 6px; padding: 12px 14px; margin: 0 0 1rem; overflow-x: auto; font-size: .85rem; line-height: 1.45; white-space: pre; tab-size: 4; }
pre.cmd { background: #1f2328; color: #f0f3f6; border-color: #1f2328; white-space: pre-wrap; overflow-wrap: anywhere; user-select: all; -webkit-user-select: all; cursor: text; }
pre.cmd::before { content: "$ "; color: #9198a1; user-select: none; -webkit-user-select: none; }
p.hint { font-size: .85rem; color: var(--muted); margin: -.5rem 0 1rem; }
details { border: 1px solid var(--border); border-radius: 6px; padding: 0 12px; }
details > summary { cursor: pointer; padding: 8px 0; font-weight: 600; }
details[open] > summary { border-bottom: 1px solid var(--border); margin-bottom: 10px; }
details > pre { border: none; padding: 0 0 12px; background: none; }
footer { margin-top: 2.5rem; font-size: .8rem; color: var(--muted); }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav.toc, p.hint { display: none; }
  h2 { break-after: avoid; }
  figure.chart, dl.headline > div, ul.verdicts li, tr { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  pre, pre.cmd { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; }
  pre.cmd { background: #fff; color: var(--fg); border-color: var(--border); }
  details { border: none; padding: 0; }
}
"#;

/// Runs first thing in `<body>`: counts errors from then on, counts the rendered charts after
/// load, and opens the `<details>` before printing. It must never contain `</script`.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var body = document.body, errors = 0, messages = [];
  body.dataset.errors = "0";
  function record(what) {
    errors += 1;
    messages.push(String(what).replace(/[<>"&|]/g, " ").slice(0, 300));
    body.dataset.errors = String(errors);
    body.dataset.errorMessages = messages.join(" | ");
  }
  window.addEventListener("error", function (e) {
    record(e && e.message ? e.message : "error");
  });
  window.addEventListener("unhandledrejection", function (e) {
    var r = e ? e.reason : undefined;
    record("unhandled rejection: " + (r && r.message ? r.message : r));
  });
  if (window.console && typeof console.error === "function") {
    var consoleError = console.error;
    console.error = function () {
      record("console.error: " + Array.prototype.join.call(arguments, " "));
      return consoleError.apply(console, arguments);
    };
  }
  function countCharts() {
    var n = 0;
    document.querySelectorAll("figure.chart > svg").forEach(function (svg) {
      var box = svg.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) { n += 1; }
    });
    body.dataset.chartsRendered = String(n);
    body.dataset.chartsTotal = String(document.querySelectorAll("figure.chart").length);
    body.dataset.pageHeight = String(Math.ceil(document.documentElement.getBoundingClientRect().height));
    var scrolling = [];
    document.querySelectorAll(".table-wrap").forEach(function (w) {
      if (w.scrollWidth > w.clientWidth + 1) {
        var c = w.querySelector("caption");
        scrolling.push((c ? c.textContent : "a table").replace(/[<>"&|]/g, " ").slice(0, 80));
      }
    });
    body.dataset.tablesScrolling = String(scrolling.length);
    if (scrolling.length) { body.dataset.tablesScrollingCaptions = scrolling.join(" | "); }
  }
  if (document.readyState === "complete") { countCharts(); }
  else { window.addEventListener("load", countCharts); }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
"#;

/// The SVG element of a plotters document: any leading BOM, whitespace, XML prolog, processing
/// instructions, comments and DOCTYPE removed. `None` when no `<svg` element is found.
fn svg_element(doc: &str) -> Option<&str> {
    let mut s = doc.trim_start_matches('\u{feff}');
    loop {
        s = s.trim_start();
        if s.starts_with("<?") {
            s = &s[s.find("?>")? + 2..];
        } else if s.starts_with("<!--") {
            s = &s[s.find("-->")? + 3..];
        } else if s.starts_with("<!") {
            // A DOCTYPE, possibly with an internal subset `[...]` that contains `>`.
            let close = s.find('>')?;
            let end = match s.find('[') {
                Some(open) if open < close => s.find("]>").map(|e| e + 2)?,
                _ => close + 1,
            };
            s = &s[end..];
        } else {
            break;
        }
    }
    if s.starts_with("<svg") {
        Some(s.trim_end())
    } else {
        // Not the shape we expect: take the first `<svg` element if there is one.
        s.find("<svg").map(|i| s[i..].trim_end())
    }
}

/// Whether a cell reads as a number (with an optional sign, `±` term, percent or short unit),
/// so that it is right-aligned: `12`, `-0.5`, `1,234`, `99.95 %`, `212 ms`, `0.93 ± 0.01`, `NaN`.
fn looks_numeric(cell: &str) -> bool {
    let s = cell.trim();
    if matches!(s, "NaN" | "inf" | "-inf" | "+inf" | "∞" | "-∞") {
        return true;
    }
    let s = s
        .strip_prefix(['+', '-', '−', '~', '≈'])
        .unwrap_or(s)
        .trim_start();
    let Some(rest) = number_prefix(s) else {
        return false;
    };
    let mut rest = rest.trim_start();
    if let Some(r) = rest.strip_prefix('±') {
        match number_prefix(r.trim_start()) {
            Some(r) => rest = r.trim_start(),
            None => return false,
        }
    }
    // An optional unit: a short run of letters, `%`, `/` or `µ` (ms, s, %, req/s, µs).
    rest.chars().count() <= 6
        && rest
            .chars()
            .all(|c| c.is_alphabetic() || c == '%' || c == '/' || c == 'µ')
}

/// The text after a leading decimal number (`1,234.5e-3`), or `None` if `s` does not start with one.
fn number_prefix(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < b.len() && (b[i].is_ascii_digit() || (b[i] == b',' && digits > 0)) {
        digits += usize::from(b[i].is_ascii_digit());
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            digits += 1;
            i += 1;
        }
    }
    if digits == 0 || b[i - 1] == b',' {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > start {
            i = j;
        }
    }
    Some(&s[i..])
}

/// A section of the page, in the order shown.
struct Section {
    id: &'static str,
    label: &'static str,
}

const HEADLINE: Section = Section {
    id: "headline",
    label: "Summary",
};
const VERDICTS: Section = Section {
    id: "verdicts",
    label: "Expectations",
};
const CHARTS: Section = Section {
    id: "charts",
    label: "Charts",
};
const TABLES: Section = Section {
    id: "tables",
    label: "Tables",
};
const NOTES: Section = Section {
    id: "notes",
    label: "Notes",
};
const REPRODUCE: Section = Section {
    id: "reproduce",
    label: "Reproduce",
};
const SCENARIO: Section = Section {
    id: "scenario",
    label: "Scenario as run",
};

fn open_section(o: &mut String, s: &Section) {
    let _ = writeln!(o, "<section id=\"{}\">\n<h2>{}</h2>", s.id, escape(s.label));
}

fn close_section(o: &mut String) {
    o.push_str("</section>\n");
}

fn render_table(o: &mut String, t: &HtmlTable) {
    let columns = t
        .rows
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(t.header.len());
    // A column whose filled cells all look numeric gets a right-aligned heading too.
    let numeric_column: Vec<bool> = (0..columns)
        .map(|c| {
            let mut filled = t
                .rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|x| !x.trim().is_empty())
                .peekable();
            filled.peek().is_some() && filled.all(|x| looks_numeric(x))
        })
        .collect();
    o.push_str("<div class=\"table-wrap\">\n<table>\n");
    if !t.caption.is_empty() {
        let _ = writeln!(o, "<caption>{}</caption>", escape(&t.caption));
    }
    if !t.header.is_empty() {
        o.push_str("<thead><tr>");
        for (c, &numeric) in numeric_column.iter().enumerate() {
            let h = t.header.get(c).map_or("", String::as_str);
            let class = if numeric { " class=\"num\"" } else { "" };
            let _ = write!(o, "<th scope=\"col\"{class}>{}</th>", escape(h));
        }
        o.push_str("</tr></thead>\n");
    }
    o.push_str("<tbody>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in 0..columns {
            let cell = row.get(c).map_or("", String::as_str);
            let class = if looks_numeric(cell) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(o, "<td{class}>{}</td>", escape(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n</div>\n");
}

/// Renders `page` as one self-contained HTML document.
pub fn render(page: &HtmlPage) -> String {
    let title = if page.title.trim().is_empty() {
        "hasim report"
    } else {
        page.title.as_str()
    };
    let has_reproduce = !page.run_facts.is_empty() || !page.reproduce.is_empty();
    let has_scenario = !page.scenario_text.is_empty() || !page.scenario_path.is_empty();
    let sections: Vec<&Section> = [
        (&HEADLINE, !page.headline.is_empty()),
        (&VERDICTS, !page.verdicts.is_empty()),
        (&CHARTS, !page.charts.is_empty()),
        (&TABLES, !page.tables.is_empty()),
        (&NOTES, !page.notes.is_empty()),
        (&REPRODUCE, has_reproduce),
        (&SCENARIO, has_scenario),
    ]
    .into_iter()
    .filter_map(|(s, shown)| shown.then_some(s))
    .collect();

    let mut o = String::with_capacity(
        16 * 1024
            + page.scenario_text.len() * 11 / 10
            + page.charts.iter().map(|c| c.svg.len()).sum::<usize>(),
    );
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<meta name=\"generator\" content=\"hasim\">\n");
    let _ = writeln!(o, "<title>{}</title>", escape(title));
    let _ = writeln!(o, "<style>{STYLE}</style>");
    o.push_str("</head>\n<body>\n");
    let _ = writeln!(o, "<script>{SCRIPT}</script>");
    o.push_str("<main>\n<header>\n");
    let _ = writeln!(o, "<h1>{}</h1>", escape(title));
    if sections.len() > 1 {
        o.push_str("<nav class=\"toc\" aria-label=\"Sections\">");
        for s in &sections {
            let _ = write!(o, "<a href=\"#{}\">{}</a>", s.id, escape(s.label));
        }
        o.push_str("</nav>\n");
    }
    o.push_str("</header>\n");

    if !page.headline.is_empty() {
        let _ = writeln!(
            o,
            "<section id=\"{}\" aria-label=\"{}\">",
            HEADLINE.id, HEADLINE.label
        );
        o.push_str("<dl class=\"headline\">\n");
        for (k, v) in &page.headline {
            let _ = writeln!(o, "<div><dt>{}</dt><dd>{}</dd></div>", escape(k), escape(v));
        }
        o.push_str("</dl>\n");
        close_section(&mut o);
    }

    if !page.verdicts.is_empty() {
        open_section(&mut o, &VERDICTS);
        let met = page.verdicts.iter().filter(|v| v.met).count();
        let n = page.verdicts.len();
        let (class, text) = if met == n {
            ("all-met", format!("All {n} expectations met."))
        } else {
            (
                "not-met",
                format!("{} of {n} expectations NOT met.", n - met),
            )
        };
        let _ = writeln!(o, "<p class=\"summary {class}\">{}</p>", escape(&text));
        o.push_str("<ul class=\"verdicts\">\n");
        for v in &page.verdicts {
            let badge = if v.met {
                "<span class=\"badge pass\">✓ PASS</span>"
            } else {
                "<span class=\"badge fail\">✗ FAIL</span>"
            };
            let _ = write!(
                o,
                "<li>{badge}<span class=\"expectation\">{}</span>",
                escape(&v.expectation)
            );
            if !v.detail.is_empty() {
                let _ = write!(o, "<span class=\"detail\">{}</span>", escape(&v.detail));
            }
            o.push_str("</li>\n");
        }
        o.push_str("</ul>\n");
        close_section(&mut o);
    }

    if !page.charts.is_empty() {
        open_section(&mut o, &CHARTS);
        for (i, c) in page.charts.iter().enumerate() {
            let _ = writeln!(o, "<figure class=\"chart\" id=\"chart-{}\">", i + 1);
            match svg_element(&c.svg) {
                Some(svg) => {
                    o.push_str(svg);
                    o.push('\n');
                }
                None => o.push_str("<p class=\"missing\">(chart unavailable: no SVG)</p>\n"),
            }
            if !c.caption.is_empty() {
                let _ = writeln!(o, "<figcaption>{}</figcaption>", escape(&c.caption));
            }
            o.push_str("</figure>\n");
        }
        close_section(&mut o);
    }

    if !page.tables.is_empty() {
        open_section(&mut o, &TABLES);
        for t in &page.tables {
            render_table(&mut o, t);
        }
        close_section(&mut o);
    }

    if !page.notes.is_empty() {
        open_section(&mut o, &NOTES);
        o.push_str("<ul class=\"notes\">\n");
        for n in &page.notes {
            // A note of several lines is a text report (a sweep's table): keep its columns.
            if n.contains('\n') {
                let _ = writeln!(o, "<li class=\"text\"><pre>{}</pre></li>", escape(n));
            } else {
                let _ = writeln!(o, "<li>{}</li>", escape(n));
            }
        }
        o.push_str("</ul>\n");
        close_section(&mut o);
    }

    if has_reproduce {
        open_section(&mut o, &REPRODUCE);
        if !page.run_facts.is_empty() {
            o.push_str("<div class=\"table-wrap\">\n<table class=\"facts\">\n<tbody>\n");
            for (k, v) in &page.run_facts {
                let _ = writeln!(
                    o,
                    "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                    escape(k),
                    escape(v)
                );
            }
            o.push_str("</tbody>\n</table>\n</div>\n");
        }
        if !page.reproduce.is_empty() {
            let _ = writeln!(
                o,
                "<pre class=\"cmd\"><code>{}</code></pre>",
                escape(&page.reproduce)
            );
            o.push_str("<p class=\"hint\">One click selects the whole command.</p>\n");
        }
        close_section(&mut o);
    }

    if has_scenario {
        open_section(&mut o, &SCENARIO);
        let lines = page.scenario_text.lines().count();
        let _ = write!(o, "<details>\n<summary>");
        if page.scenario_path.is_empty() {
            o.push_str("Scenario");
        } else {
            let _ = write!(o, "<code>{}</code>", escape(&page.scenario_path));
        }
        let _ = writeln!(
            o,
            " ({lines} line{}, {} bytes)</summary>",
            if lines == 1 { "" } else { "s" },
            page.scenario_text.len()
        );
        let _ = writeln!(o, "<pre>{}</pre>\n</details>", escape(&page.scenario_text));
        close_section(&mut o);
    }

    o.push_str("</main>\n");
    o.push_str("<footer>Made by hasim. The page is self-contained: it loads nothing.</footer>\n");
    o.push_str("</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small chart drawn by plotters, as the real charts are (without text, which would need a
    /// registered font: that is the charts module's business).
    fn plotters_svg(slope: f64) -> String {
        use plotters::prelude::*;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (640, 320)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            let mut chart = ChartBuilder::on(&root)
                .margin(10)
                .build_cartesian_2d(0f64..10f64, 0f64..(10.0 * slope))
                .unwrap();
            chart
                .draw_series(LineSeries::new(
                    (0..=10).map(|x| (f64::from(x), slope * f64::from(x) * f64::from(x) / 10.0)),
                    BLUE.stroke_width(2),
                ))
                .unwrap();
            chart
                .plotting_area()
                .draw(&Rectangle::new([(0.0, 0.0), (10.0, 10.0 * slope)], BLACK))
                .unwrap();
            root.present().unwrap();
        }
        svg
    }

    fn sample_page() -> HtmlPage {
        HtmlPage {
            title: "hasim report — web-tier".into(),
            headline: vec![
                ("Availability".into(), "99.95 %".into()),
                ("p99".into(), "212 ms".into()),
                ("Throughput".into(), "1,204 req/s".into()),
                ("Events".into(), "3,401,877".into()),
            ],
            verdicts: vec![
                HtmlVerdict {
                    expectation: "availability ≥ 0.999".into(),
                    met: true,
                    detail: "0.9995 ≥ 0.999".into(),
                },
                HtmlVerdict {
                    expectation: "p99 ≤ 200ms".into(),
                    met: false,
                    detail: "212 > 200 by 12 (6.000% off)".into(),
                },
            ],
            tables: vec![HtmlTable {
                caption: "Replicas".into(),
                header: vec![
                    "pool".into(),
                    "#".into(),
                    "utilisation".into(),
                    "up".into(),
                    "served".into(),
                    "note".into(),
                ],
                rows: (0..5)
                    .map(|i| {
                        vec![
                            if i < 3 { "web" } else { "db" }.to_string(),
                            i.to_string(),
                            format!("0.{}", 7134 + 97 * i),
                            "0.999871".to_string(),
                            format!("{}", 120_331 + 17 * i),
                            if i == 4 {
                                "<crashed twice>".to_string()
                            } else {
                                String::new()
                            },
                        ]
                    })
                    .collect(),
            }],
            charts: vec![
                HtmlChart {
                    caption: "Latency over time".into(),
                    svg: format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
                        plotters_svg(1.0)
                    ),
                },
                HtmlChart {
                    caption: "Queue length".into(),
                    svg: plotters_svg(2.5),
                },
            ],
            notes: vec![
                "Latency percentiles come from an HDR histogram at 3 significant digits.".into(),
                "Warm-up was cut by MSER-5 & the first 10 s dropped.".into(),
            ],
            scenario_path: "scenarios/web-tier.ron".into(),
            scenario_text: "// a scenario with tricky text: </pre> <script>alert('x')</script> & \"quotes\"\n(\n    seed: 42,\n    horizon: \"1h\",\n)\n".into(),
            run_facts: vec![
                ("seed".into(), "42".into()),
                ("replication".into(), "0".into()),
                ("hasim version".into(), "0.1.0".into()),
                ("scenario hash".into(), "9f2c4e1a7b3d5c60".into()),
                ("fingerprint".into(), "0x51e3a9d7c2b4f806".into()),
            ],
            reproduce: "hasim run scenarios/web-tier.ron --seed 42 --html report.html".into(),
        }
    }

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            escape(r#"a & b < c > d "e" 'f'"#),
            "a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;"
        );
        assert_eq!(escape("plain — ünïcode"), "plain — ünïcode");
        assert_eq!(escape(""), "");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn two_charts_inline_two_svgs_and_escape_the_scenario() {
        let html = render(&sample_page());
        assert_eq!(html.matches("<svg").count(), 2);
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 2);
        assert!(!html.contains("<?xml"), "the XML prolog must be stripped");
        assert!(html.contains("&lt;/pre&gt; &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        // The only raw `</pre>` and `<script>` are the page's own.
        assert_eq!(html.matches("<script>").count(), 1);
        assert_eq!(html.matches("</script>").count(), 1);
        assert_eq!(html.matches("</pre>").count(), 2); // the command and the scenario
        assert!(html.contains("&lt;crashed twice&gt;"));
        // Nothing external.
        for banned in ["http://", "https://", "src=", "<link", "@import", "url("] {
            let outside_svg: String = html
                .split("<svg")
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part
                    } else {
                        part.split_once("</svg>").map_or("", |(_, rest)| rest)
                    }
                })
                .collect();
            assert!(!outside_svg.contains(banned), "page references {banned}");
        }
    }

    #[test]
    fn sections_come_in_order() {
        let html = render(&sample_page());
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing"))
        };
        let order = [
            at("<section id=\"headline\""),
            at("<section id=\"verdicts\""),
            at("<section id=\"charts\""),
            at("<section id=\"tables\""),
            at("<section id=\"notes\""),
            at("<section id=\"reproduce\""),
            at("<section id=\"scenario\""),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(html.contains("✓ PASS"));
        assert!(html.contains("✗ FAIL"));
        assert!(html.contains("1 of 2 expectations NOT met."));
    }

    #[test]
    fn equal_input_gives_identical_bytes() {
        assert_eq!(render(&sample_page()), render(&sample_page()));
        assert_eq!(render(&HtmlPage::default()), render(&HtmlPage::default()));
    }

    #[test]
    fn an_empty_page_still_renders_valid_structure() {
        let html = render(&HtmlPage::default());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>hasim report</title>"));
        assert!(html.contains("<style>"));
        assert!(html.contains("<script>"));
        assert!(html.ends_with("</body>\n</html>\n"));
        assert!(!html.contains("<section"), "empty sections are left out");
        assert!(!html.contains("<nav"));
        for tag in [
            "html", "head", "body", "main", "header", "style", "script", "title",
        ] {
            let opened = html.matches(&format!("<{tag}>")).count()
                + html.matches(&format!("<{tag} ")).count();
            assert_eq!(
                opened,
                html.matches(&format!("</{tag}>")).count(),
                "<{tag}> unbalanced"
            );
        }
    }

    #[test]
    fn the_title_is_escaped() {
        let html = render(&HtmlPage {
            title: "</title><script>x</script>".into(),
            ..HtmlPage::default()
        });
        assert!(html.contains("<title>&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>"));
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn the_svg_prolog_is_stripped() {
        let svg = "<svg width=\"1\" height=\"1\"></svg>";
        assert_eq!(svg_element(svg), Some(svg));
        assert_eq!(svg_element(&format!("\u{feff}  {svg}\n\n")), Some(svg));
        let doc = format!(
            "<?xml version=\"1.0\" standalone=\"no\"?>\n<!-- made by plotters -->\n\
             <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n{svg}"
        );
        assert_eq!(svg_element(&doc), Some(svg));
        let subset = format!("<!DOCTYPE svg [ <!ENTITY a \"<b>\"> ]>{svg}");
        assert_eq!(svg_element(&subset), Some(svg));
        assert_eq!(svg_element("not a chart"), None);
        let html = render(&HtmlPage {
            charts: vec![HtmlChart {
                caption: "broken".into(),
                svg: "oops".into(),
            }],
            ..HtmlPage::default()
        });
        assert!(html.contains("chart unavailable"));
        assert!(!html.contains("<svg"));
    }

    #[test]
    fn numeric_cells_are_recognised() {
        for yes in [
            "12",
            "-0.5",
            "1,234",
            "99.95 %",
            "99.95%",
            "212 ms",
            "0.93 ± 0.01",
            "1.5e-3",
            "1204 req/s",
            "NaN",
            "∞",
            " 7 ",
            ".5",
        ] {
            assert!(looks_numeric(yes), "{yes:?} should look numeric");
        }
        for no in [
            "",
            "web",
            "n/a",
            "v1.2",
            "12 requests failed",
            "1,",
            ",5",
            "—",
            "-",
            "0x1f",
            "[0.1, 0.2]",
        ] {
            assert!(!looks_numeric(no), "{no:?} should not look numeric");
        }
        let html = render(&sample_page());
        assert!(html.contains("<th scope=\"col\" class=\"num\">utilisation</th>"));
        assert!(html.contains("<th scope=\"col\">pool</th>"));
        assert!(html.contains("<td class=\"num\">0.999871</td>"));
    }

    /// With `HASIM_HTML_SAMPLE=/path/page.html`, writes the sample page there, for
    /// `tests/browser/check.sh` to load in a real browser (see `tests/browser/selftest.sh`).
    #[test]
    fn write_sample_page_when_asked() {
        if let Some(path) = std::env::var_os("HASIM_HTML_SAMPLE") {
            std::fs::write(&path, render(&sample_page())).unwrap();
            eprintln!("wrote {}", std::path::Path::new(&path).display());
        }
    }
}
