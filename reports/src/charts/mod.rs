//! Charts from plain data: latency CDFs, stacked timelines with shaded fault windows, a metric
//! against a swept parameter with CI bands, heatmaps over two swept axes, and bars with CI
//! whiskers. Each function returns the bytes of one SVG or PNG file.
//!
//! This module does no statistics and no I/O. Callers pass finished numbers (fractions, means,
//! interval bounds), put units into the labels, and decide where the bytes go. The output is
//! byte-identical from run to run and needs no system fonts. Text is measured (SVG) and drawn
//! (PNG) with the DejaVu Sans bytes of the `dejavu` crate through plotters' `ab_glyph` feature.
//! SVG files name the `sans-serif` family, so viewers use their own sans font.

mod bars;
mod heatmap;
mod lines;
mod png;
#[cfg(test)]
mod tests;
mod timeline;

pub use bars::bars;
pub use heatmap::heatmap;
pub use lines::{latency_cdf, metric_vs_parameter};
pub use timeline::timeline;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The file format of a rendered chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartFormat {
    /// Scalable vector graphics (text in the naive font).
    Svg,
    /// A bitmap (text drawn with DejaVu Sans).
    Png,
}

impl ChartFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Svg => "svg",
            ChartFormat::Png => "png",
        }
    }
}

/// Rendering failed (a drawing backend or font error). Odd data gives a "no data" chart instead.
#[derive(Debug)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart rendering failed: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

/// A named line: (x, y) points in x order.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// (x, y), in x order.
    pub points: Vec<(f64, f64)>,
}

/// A named line with a confidence band: (x, mean, low, high).
#[derive(Clone, Debug)]
pub struct Band {
    /// Its legend entry.
    pub name: String,
    /// (x, mean, low, high), in x order.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// An interval of the x axis to shade (a fault window), with a legend label.
#[derive(Clone, Debug)]
pub struct Shade {
    /// Where it starts on the x axis.
    pub from: f64,
    /// Where it ends on the x axis.
    pub to: f64,
    /// Its legend entry.
    pub label: String,
}

/// One panel of a stacked timeline: its y axis label (with unit) and lines, and optionally the
/// spread of many more lines as one grey band (low..high) with its middle line.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The y axis label, with its unit.
    pub y_label: String,
    /// Its lines.
    pub series: Vec<Series>,
    /// A fixed y range, else one fitted to the data.
    pub y_range: Option<(f64, f64)>,
    /// Many more lines drawn as one grey band with its middle line.
    pub spread: Option<Band>,
}

/// One bar: label, value, optional 95% CI half-width (whisker).
#[derive(Clone, Debug)]
pub struct Bar {
    /// Its label under the bar.
    pub label: String,
    /// Its height.
    pub value: f64,
    /// The 95% confidence half-width (a whisker), if known.
    pub ci95: Option<f64>,
}

const FONT: &str = "sans-serif";
/// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE: [u32; 8] = [
    0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0xCC79A7, 0x56B4E9, 0xF0E442, 0x000000,
];
const GREY: RGBColor = RGBColor(110, 110, 110);
/// Width of the legend column right of the plot: a legend there never hides data.
const LEGEND_W: u32 = 210;
const SIZE: (u32, u32) = (900, 500);

fn colour(i: usize) -> RGBColor {
    let c = PALETTE[i % PALETTE.len()];
    RGBColor((c >> 16) as u8, (c >> 8) as u8, c as u8)
}

/// Past eight lines the colours repeat, so every second round of the palette is dashed.
fn dashed(i: usize) -> bool {
    (i / PALETTE.len()) % 2 == 1
}

type Area<DB> = DrawingArea<DB, Shift>;
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Registers the embedded font once. Without it `ab_glyph` has no glyphs (and plotters'
/// other font path wants system fonts that a bare container does not have).
fn fonts() -> Result<(), ChartError> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    let err = || ChartError("the embedded DejaVu Sans font did not load".into());
    ok.then_some(()).ok_or_else(err)
}

/// Draws with `svg` or `png` (one generic function, instantiated per backend) onto a white
/// canvas and returns the file's bytes.
fn render(
    format: ChartFormat,
    (w, h): (u32, u32),
    svg: impl FnOnce(&Area<SVGBackend>) -> Result<(), ChartError>,
    png: impl FnOnce(&Area<BitMapBackend>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    fn paint<DB: DrawingBackend>(
        root: Area<DB>,
        draw: impl FnOnce(&Area<DB>) -> Result<(), ChartError>,
    ) -> Result<(), ChartError> {
        root.fill(&WHITE)?;
        draw(&root)?;
        Ok(root.present()?)
    }
    fonts()?;
    match format {
        ChartFormat::Svg => {
            let mut out = String::new();
            paint(
                SVGBackend::with_string(&mut out, (w, h)).into_drawing_area(),
                svg,
            )?;
            Ok(out.into_bytes())
        }
        ChartFormat::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            paint(
                BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area(),
                png,
            )?;
            png::encode_rgb(w, h, &rgb)
        }
    }
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Text of `size` anchored at its `h`, `v` side.
fn text(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size).pos(Pos::new(h, v))
}

fn titled<DB: DrawingBackend>(root: &Area<DB>, title: &str) -> Result<Area<DB>, ChartError> {
    let title_font = (FONT, 21).into_font().style(FontStyle::Bold);
    Ok(root.margin(8, 6, 8, 8).titled(title, title_font)?)
}

/// Says so, instead of drawing axes with made-up ranges.
fn no_data<DB: DrawingBackend>(area: &Area<DB>) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new([(40, 10), (w - 20, h - 20)], GREY))?;
    let style = text(18, HPos::Center, VPos::Center).color(&GREY);
    Ok(area.draw(&Text::new("no data", (w / 2, h / 2), style))?)
}

/// Cuts `s` to `n` characters by dropping its middle: names often share a prefix and differ
/// at the end ("web/1", "web/2").
fn clip(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n {
        return s.to_string();
    }
    let head = n.saturating_sub(1) / 2;
    let tail = n.saturating_sub(1) - head;
    let head: String = s.chars().take(head).collect();
    head + "…" + &s.chars().skip(len - tail).collect::<String>()
}

/// `v` with `decimals` decimals, and no minus sign on a value that rounds to zero.
fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// A short label for one value: three or four significant digits, k/M/G from 10 000 on.
fn short(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v != 0.0 && !(1e-4..1e12).contains(&v.abs()) {
        return format!("{v:.1e}");
    }
    let (v, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let mut decimals = match v.abs() {
        a if a >= 1000.0 => 0,
        a if a >= 100.0 => 1,
        a if a >= 1.0 || a == 0.0 => 2,
        a => 3 + (0..12).take_while(|&k| a * pow10(k) < 0.1).count(),
    };
    if !suffix.is_empty() {
        decimals = decimals.saturating_sub(1); // "12.3k", not "12.35k"
    }
    let s = fixed(v, decimals);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}{suffix}")
}

/// 10^k by multiplication (no platform `powi`).
fn pow10(k: i32) -> f64 {
    (0..k.unsigned_abs()).fold(1.0, |v, _| if k > 0 { v * 10.0 } else { v / 10.0 })
}

/// One axis: its range in plot coordinates, with its own ticks and labels (so that labels
/// have a uniform number of decimals). It is also the plotters coordinate: plotters' own
/// `WithKeyPoints` over `f64` cannot take a label formatter.
#[derive(Clone, Default)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    labels: Vec<String>,
    /// Light grid lines only (the 2…9 of a log axis).
    minor: Vec<f64>,
    log: bool,
    /// Category axes (bars, heatmap cells) get no grid lines.
    categories: bool,
    /// Category names too long to sit side by side are written vertically.
    rotated: bool,
}

impl Axis {
    /// About `n` ticks on [lo, hi] at steps of 1, 2 or 5 times a power of ten.
    fn linear(lo: f64, hi: f64, n: usize) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let raw = (hi - lo) / n.max(1) as f64;
        if !raw.is_normal() {
            return Axis {
                lo,
                hi,
                ..Axis::default()
            }; // a span past f64: no ticks
        }
        let (mut unit, mut decimals) = (1.0, 0usize);
        while unit > raw && decimals < 15 {
            unit /= 10.0;
            decimals += 1;
        }
        while unit * 10.0 <= raw {
            unit *= 10.0;
        }
        // The 1-2-5 step nearest the asked-for one (by ratio); the next larger could leave
        // only three ticks.
        let off = |m: f64| (m * unit / raw).max(raw / (m * unit));
        let m = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .min_by(|&a, &b| off(a).total_cmp(&off(b)));
        let step = unit * m.unwrap_or(1.0);
        if step > 9.0 * unit {
            decimals = decimals.saturating_sub(1);
        }
        let first = (lo / step).ceil();
        let ticks: Vec<f64> = (0..200)
            .map(|k| (first + k as f64) * step)
            .take_while(|&t| t <= hi + step * 1e-9)
            .collect();
        let big = lo.abs().max(hi.abs()) >= 1e6;
        let label = |&t: &f64| if big { short(t) } else { fixed(t, decimals) };
        let labels = ticks.iter().map(label).collect();
        Axis {
            lo,
            hi,
            ticks,
            labels,
            ..Axis::default()
        }
    }

    /// A base-10 log axis a little wider than positive, finite [lo, hi] (a factor 1.2 each way,
    /// so that no line runs along the frame); plot coordinates are log10 of the values.
    fn log(lo: f64, hi: f64) -> Axis {
        let (a, b) = (libm::log10(lo) - 0.08, libm::log10(hi) + 0.08);
        let mut axis = Axis {
            lo: a,
            hi: b,
            log: true,
            ..Axis::default()
        };
        for k in a.floor() as i32..=b.ceil() as i32 {
            for m in 1..10 {
                let t = k as f64 + libm::log10(f64::from(m));
                if t < a || t > b {
                    continue;
                }
                // Over few decades 2 and 5 are labelled too, over many not every power of ten.
                let every = ((b - a) / 8.0).ceil().max(1.0) as i32;
                if (m == 1 && k % every == 0) || (b - a < 3.5 && (m == 2 || m == 5)) {
                    axis.ticks.push(t);
                    axis.labels.push(short(f64::from(m) * pow10(k)));
                } else {
                    axis.minor.push(t);
                }
            }
        }
        axis
    }

    /// `n` categories centred on 0.5, 1.5, …, with `room` pixels each (on an x axis); unnamed
    /// ones are numbered from 1.
    fn categories(names: &[String], n: usize, room: u32) -> Axis {
        let name = |i: usize| names.get(i).cloned().unwrap_or_else(|| (i + 1).to_string());
        let chars = (room / 8).max(1) as usize;
        let rotated = room < 90 && (0..n).any(|i| name(i).chars().count() > chars);
        let chars = if rotated { 18 } else { chars.max(4) };
        let labels = (0..n).map(|i| clip(&name(i), chars)).collect();
        let ticks = (0..n).map(|i| i as f64 + 0.5).collect();
        let hi = n as f64;
        Axis {
            hi,
            ticks,
            labels,
            categories: true,
            rotated,
            ..Axis::default()
        }
    }

    /// The plot coordinate of a data value.
    fn pos(&self, v: f64) -> f64 {
        if self.log { libm::log10(v) } else { v }
    }

    fn label(&self, v: f64) -> String {
        let near = |t: &f64| (t - v).abs() <= 1e-9 * (self.hi - self.lo);
        let i = self.ticks.iter().position(near);
        i.and_then(|i| self.labels.get(i).cloned())
            .unwrap_or_else(|| short(v))
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// Like plotters' `f64` coordinate, but a value far outside the range lands at most 100
    /// plot widths away: plotters' own overflows `i32` there (a panic in debug builds).
    fn map(&self, v: &f64, (a, b): (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let t = if t.is_nan() { 0.0 } else { t.clamp(-1e2, 1e2) };
        let px = f64::from(b - a) * t;
        // plotters' rounding: a value a hair below a pixel boundary still lands on it.
        let px = if b > a {
            (px + 1e-3).floor()
        } else {
            (px - 1e-3).ceil()
        };
        a + px as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let light = hint.weight().allow_light_points();
        if light {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The smallest and largest finite value, if any.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let finite = values.into_iter().filter(|v| v.is_finite());
    finite.fold(None, |r, v| {
        Some(r.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
    })
}

/// Adds 5% so lines do not run along the frame. With `zero`, non-negative data that come
/// close to zero get zero as the baseline, which keeps the sizes of values comparable.
fn padded((lo, hi): (f64, f64), zero: bool) -> (f64, f64) {
    if hi - lo <= 1e-12 * hi.abs().max(lo.abs()) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.05;
    let baseline = zero && lo >= 0.0 && lo < 0.3 * hi;
    (if baseline { 0.0 } else { lo - pad }, hi + pad)
}

/// Pixels left of the plot for the widest tick label of `axes` and the axis title.
fn y_area<DB: DrawingBackend>(area: &Area<DB>, axes: &[&Axis]) -> Result<u32, ChartError> {
    let mut widest = 10;
    for label in axes.iter().flat_map(|a| &a.labels) {
        widest = widest.max(area.estimate_text_size(label, &font(13))?.0);
    }
    Ok(widest + 42)
}

/// Axes, grid, tick labels and axis titles for one plot; returns the chart to draw data into.
fn frame<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    (x, y): (&Axis, &Axis),
    (x_desc, y_desc): (&str, &str),
    x_labels: bool,
    y_area: u32,
) -> Result<Chart<'a, DB>, ChartError> {
    let longest = x.labels.iter().map(|l| l.chars().count() as u32).max();
    let x_area = match (x_labels, x.rotated) {
        (false, _) => 0,
        (true, false) => 50,
        (true, true) => 7 * longest.unwrap_or(0) + 16,
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(10)
        .margin_right(18)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x.clone(), y.clone())?;
    let x_fmt = |v: &f64| {
        if x_labels && !x.rotated {
            x.label(*v)
        } else {
            String::new()
        }
    };
    let y_fmt = |v: &f64| y.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(RGBColor(222, 222, 222))
        .light_line_style(RGBColor(244, 244, 244))
        .axis_style(GREY)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc(y_desc);
    if x.categories {
        mesh.disable_x_mesh();
    }
    if y.categories {
        mesh.disable_y_mesh();
    }
    if x_labels && !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    mesh.draw()?;
    if x_labels && x.rotated {
        // plotters centres x labels on their tick before rotating them, which moves rotated
        // labels up into the plot; these start under the axis and run down.
        let style = text(13, HPos::Left, VPos::Center).transform(FontTransform::Rotate90);
        let (ox, oy) = area.get_base_pixel();
        for (t, label) in x.ticks.iter().zip(&x.labels) {
            let (px, py) = chart.backend_coord(&(*t, y.lo));
            area.draw(&Text::new(
                label.as_str(),
                (px - ox, py - oy + 10),
                style.clone(),
            ))?;
        }
    }
    Ok(chart)
}

/// Draws line `i` of a chart (its colour and dash come from `i`), `width` pixels wide. It is
/// cut at non-finite points: a missing value shows as a gap, not as a spike.
fn draw_line<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    points: impl Iterator<Item = (f64, f64)>,
    (i, width): (usize, u32),
) -> Result<(), ChartError> {
    let mut segments = vec![vec![]];
    for (x, y) in points {
        match segments.last_mut() {
            Some(s) if x.is_finite() && y.is_finite() => s.push((x, y)),
            Some(s) if !s.is_empty() => segments.push(vec![]),
            _ => {}
        }
    }
    let style = colour(i).stroke_width(width);
    for seg in segments.into_iter().filter(|s| !s.is_empty()) {
        if let [p] = seg[..] {
            chart.draw_series([Circle::new(p, 3, colour(i).filled())])?;
        } else if dashed(i) {
            chart.draw_series(DashedLineSeries::new(seg, 7, 4, style))?;
        } else {
            chart.draw_series(LineSeries::new(seg, style))?;
        }
    }
    Ok(())
}

/// A legend entry for line `line` of the palette, drawn over its band if `band`.
struct Entry {
    label: String,
    /// A second, smaller line under the label (e.g. the p50/p99 of a CDF curve).
    note: Option<String>,
    line: usize,
    band: bool,
    /// Drawn in grey (a spread of many lines), not in the palette colour of `line`.
    grey: bool,
}

impl Entry {
    fn line(label: &str, line: usize) -> Entry {
        let label = label.to_string();
        Entry {
            label,
            note: None,
            line,
            band: false,
            grey: false,
        }
    }
}

/// The legend column's width: wide enough for the longest label on one line where that leaves
/// the plot most of the chart (at most 40% of `total`); longer labels wrap, never cut.
fn legend_width<DB: DrawingBackend>(
    area: &Area<DB>,
    labels: impl IntoIterator<Item = String>,
    total: u32,
) -> Result<u32, ChartError> {
    let mut widest = 0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(&label, &font(13))?.0);
    }
    Ok((widest + 50).clamp(LEGEND_W, (total * 2 / 5).max(LEGEND_W)))
}

/// `s` in lines of at most `px` pixels of `style`, broken after spaces or commas where possible,
/// else inside a word: nothing is left out.
fn wrap<DB: DrawingBackend>(
    area: &Area<DB>,
    s: &str,
    px: u32,
    style: &TextStyle,
) -> Result<Vec<String>, ChartError> {
    let fits =
        |t: &str| -> Result<bool, ChartError> { Ok(area.estimate_text_size(t, style)?.0 <= px) };
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    // Words keep their trailing separator, so that joining them gives `s` back.
    let mut words: Vec<String> = vec![];
    let mut word = String::new();
    for c in s.chars() {
        word.push(c);
        if c == ' ' || c == ',' || c == '(' {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    for w in words {
        let joined = format!("{line}{w}");
        if fits(joined.trim_end())? || line.is_empty() {
            line = joined;
        } else {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            line = w;
        }
        // A word longer than a line is broken where it overflows.
        while !fits(line.trim_end())? && line.chars().count() > 1 {
            let mut head = String::new();
            for c in line.chars() {
                head.push(c);
                if !fits(&head)? {
                    head.pop();
                    break;
                }
            }
            if head.is_empty() {
                head = line.chars().take(1).collect();
            }
            let rest: String = line.chars().skip(head.chars().count()).collect();
            lines.push(head);
            line = rest;
        }
    }
    if !line.trim_end().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    Ok(lines)
}

/// A legend column: one entry per row (labels wrapped onto more lines when long), top down, and
/// a count of what did not fit.
fn legend<DB: DrawingBackend>(
    area: &Area<DB>,
    top: i32,
    entries: &[Entry],
) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let room = w.saturating_sub(44).max(40);
    let left = text(13, HPos::Left, VPos::Center);
    let small = text(11, HPos::Left, VPos::Center).color(&GREY);
    let mut y = top + 8;
    for (k, e) in entries.iter().enumerate() {
        let lines = wrap(area, &e.label, room, &left)?;
        let notes = match &e.note {
            Some(n) => wrap(area, n, room, &small)?,
            None => vec![],
        };
        let need = 16 * lines.len() as i32 + 15 * notes.len() as i32 + 4;
        let rest = entries.len() - k;
        if rest > 1 && y + need + 20 > h as i32 {
            let more = format!("… and {rest} more");
            return Ok(area.draw(&Text::new(more, (6, y), left.color(&GREY)))?);
        }
        let (i, x) = (e.line, 6);
        let c = if e.grey { GREY } else { colour(i) };
        if e.band {
            area.draw(&Rectangle::new(
                [(x, y - 7), (x + 26, y + 7)],
                c.mix(0.2).filled(),
            ))?;
        }
        let dashes: &[(i32, i32)] = if dashed(i) && !e.grey {
            &[(0, 10), (16, 26)]
        } else {
            &[(0, 26)]
        };
        for &(a, b) in dashes {
            area.draw(&PathElement::new(
                [(x + a, y), (x + b, y)],
                c.stroke_width(2),
            ))?;
        }
        let mut at = y;
        for line in lines {
            area.draw(&Text::new(line, (38, at), left.clone()))?;
            at += 16;
        }
        for note in notes {
            at -= 1;
            area.draw(&Text::new(note, (38, at), small.clone()))?;
            at += 15;
        }
        y += need;
    }
    Ok(())
}
