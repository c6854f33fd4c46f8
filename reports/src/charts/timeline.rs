//! Stacked panels over one time axis, with fault windows shaded across all of them.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Axis, ChartError, ChartFormat, Entry, GREY, LEGEND_W, Panel, Shade, clip, colour,
    draw_line, finite_range, frame, legend, no_data, padded, render, text, titled, wrap, y_area,
};

/// One lane of fault windows (a row per distinct shade label) above the panels.
pub(super) const LANE_H: u32 = 18;
/// At most this many lanes; the rest are counted.
const LANES: usize = 8;
/// A window longer than this share of the time axis is shown in its lane only: shaded across
/// the panels it would tint (nearly) the whole chart and hide the shorter windows under it.
const LONG: f64 = 0.5;

/// Stacked panels sharing one x axis in seconds ("time (s)"), with `shades` drawn as translucent
/// vertical bands across every panel. Shades with the same label share a colour and one lane
/// above the panels, where every window is drawn as a bar on the same time axis and named at
/// the right. A window longer than half the axis is drawn in its lane only, so that the shorter
/// windows stay visible in the panels. A panel grows with its number of series, so that its
/// legend fits, and the image grows with the panels.
pub fn timeline(
    title: &str,
    panels: &[Panel],
    shades: &[Shade],
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    // A picture of more panels would not be read (and its bitmap would be huge).
    if panels.len() > 16 {
        return Err(ChartError(format!(
            "{} panels, at most 16 fit one timeline",
            panels.len()
        )));
    }
    let height = |p: &Panel| (60 + 20 * p.series.len().min(20) as u32).clamp(180, 440);
    let heights: Vec<u32> = panels.iter().map(height).collect();
    let shade_row = lanes_height(distinct_labels(shades).len());
    // Title, shade legend, panels, x axis.
    let size = (
        1000,
        44 + shade_row + heights.iter().sum::<u32>().max(300) + 50,
    );
    let (p, s, h) = (panels, shades, &heights[..]);
    render(
        format,
        size,
        |a| draw(a, title, p, s, h),
        |a| draw(a, title, p, s, h),
    )
}

/// Fault windows: vermillion first (it reads as "trouble" next to the blue first line), then
/// grey and other Okabe–Ito colours, each as light as still tells it apart.
fn shade_colour(k: usize) -> RGBAColor {
    const SHADES: [(usize, f64); 5] = [(3, 0.2), (7, 0.12), (4, 0.3), (5, 0.25), (6, 0.35)];
    let (c, alpha) = SHADES[k % SHADES.len()];
    colour(c).mix(alpha)
}

/// Shade labels in order of first appearance.
pub(super) fn distinct_labels(shades: &[Shade]) -> Vec<&str> {
    let mut labels: Vec<&str> = vec![];
    for s in shades {
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
    }
    labels
}

pub(super) fn lanes_height(labels: usize) -> u32 {
    match labels {
        0 => 0,
        n => 12 + LANE_H * n.min(LANES + 1) as u32,
    }
}

/// Whether window `s` is drawn across the panels (else in its lane only): it is shorter than
/// [`LONG`] of the axis `lo..hi`.
pub(super) fn shaded_across(s: &Shade, (lo, hi): (f64, f64)) -> bool {
    let (a, b) = (s.from.min(s.to).max(lo), s.to.max(s.from).min(hi));
    b - a <= LONG * (hi - lo)
}

fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    panels: &[Panel],
    shades: &[Shade],
    heights: &[u32],
) -> Result<(), ChartError> {
    let mut area = titled(root, title)?;
    if panels.is_empty() {
        return no_data(&area);
    }
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| s.points.iter().filter(finite));
    // The data set the time range; shades only when there are no data (a fault window
    // with an open end must not stretch the axis).
    let from_shades = || finite_range(shades.iter().flat_map(|s| [s.from, s.to]));
    let x = match finite_range(points.map(|p| p.0)).or_else(from_shades) {
        // Time starts where the data start (from zero if that is close): no padding.
        Some((lo, hi)) if hi > lo => {
            Axis::linear(if lo > 0.0 && lo < 0.05 * hi { 0.0 } else { lo }, hi, 10)
        }
        r => {
            let (lo, hi) = padded(r.unwrap_or((0.0, 0.0)), false);
            Axis::linear(lo, hi, 10)
        }
    };

    let labels = distinct_labels(shades);
    let y_axes: Vec<Axis> = panels.iter().map(y_axis).collect();
    // One label width for all panels keeps their plot areas aligned.
    let y_area = y_area(&area, &y_axes.iter().collect::<Vec<_>>())?;
    let legend_w = LEGEND_W;
    if !labels.is_empty() {
        let (lanes, rest) = area.split_vertically(lanes_height(labels.len()));
        draw_lanes(&lanes, &x, shades, &labels, (y_area, legend_w))?;
        area = rest;
    }

    for (k, (panel, y)) in panels.iter().zip(&y_axes).enumerate() {
        let last = k + 1 == panels.len();
        let (part, rest) = if last {
            (area.clone(), area.clone())
        } else {
            area.split_vertically(heights[k])
        };
        area = rest;
        let (plot, side) = part.split_horizontally(part.dim_in_pixel().0 - legend_w);
        let mut chart = frame(&plot, (&x, y), ("time (s)", &panel.y_label), last, y_area)?;
        // An instant event would be invisible: every window gets at least 0.2% of the axis.
        let min_w = (x.hi - x.lo) * 0.002;
        for s in shades
            .iter()
            .filter(|s| s.from.is_finite() && s.to.is_finite() && shaded_across(s, (x.lo, x.hi)))
        {
            let colour = shade_colour(labels.iter().position(|l| *l == s.label).unwrap_or(0));
            let (a, b) = (s.from.min(s.to).max(x.lo), s.to.max(s.from).min(x.hi));
            let (a, b) = if b - a < min_w {
                (a - min_w / 2.0, a + min_w / 2.0)
            } else {
                (a, b)
            };
            if a < x.hi && b > x.lo {
                chart.draw_series([Rectangle::new([(a, y.lo), (b, y.hi)], colour.filled())])?;
            }
        }
        // Many lines (one per replica) are easier to tell apart thin.
        let width = if panel.series.len() > 6 { 1 } else { 2 };
        let mut entries = vec![];
        if let Some(b) = &panel.spread {
            let known: Vec<_> = b
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.2.is_finite() && p.3.is_finite())
                .collect();
            if !known.is_empty() {
                let outline: Vec<(f64, f64)> = known
                    .iter()
                    .map(|p| (p.0, p.3))
                    .chain(known.iter().rev().map(|p| (p.0, p.2)))
                    .collect();
                chart.draw_series([Polygon::new(outline, GREY.mix(0.22).filled())])?;
            }
            let middle = b
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite());
            chart.draw_series(LineSeries::new(
                middle.map(|p| (p.0, p.1)),
                GREY.stroke_width(1),
            ))?;
            entries.push(Entry {
                band: true,
                grey: true,
                ..Entry::line(&b.name, 0)
            });
        }
        for (i, s) in panel.series.iter().enumerate() {
            draw_line(&mut chart, s.points.iter().copied(), (i, width))?;
            entries.push(Entry::line(&s.name, i));
        }
        if !panel
            .series
            .iter()
            .any(|s| s.points.iter().any(|p| finite(&p)))
        {
            let style = text(15, HPos::Center, VPos::Center).color(&GREY);
            let mid = ((x.lo + x.hi) / 2.0, (y.lo + y.hi) / 2.0);
            chart.draw_series([Text::new("no data", mid, style)])?;
        }
        legend(&side, 4, &entries)?;
    }
    Ok(())
}

/// The fault lanes: one row per label, each window a bar on the panels' time axis (the same
/// left and right edges as theirs), the label at the right where the panels' legends are.
fn draw_lanes<DB: DrawingBackend>(
    area: &Area<DB>,
    x: &Axis,
    shades: &[Shade],
    labels: &[&str],
    (y_area, legend_w): (u32, u32),
) -> Result<(), ChartError> {
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0 - legend_w);
    let rows = labels.len().min(LANES);
    let more = labels.len() > rows;
    let y = Axis {
        lo: if more { -1.0 } else { 0.0 },
        hi: rows as f64,
        ..Axis::default()
    };
    // The panels' frame: same left label area and right margin, so that times line up.
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(6)
        .margin_bottom(6)
        .margin_right(18)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x.clone(), y.clone())?;
    let row_y = |k: usize| rows as f64 - k as f64 - 0.5;
    for k in 0..rows {
        let band = [(x.lo, row_y(k) - 0.5), (x.hi, row_y(k) + 0.5)];
        let zebra = if k % 2 == 0 {
            RGBColor(246, 247, 248)
        } else {
            WHITE
        };
        chart.draw_series([Rectangle::new(band, zebra.filled())])?;
    }
    let min_w = (x.hi - x.lo) * 0.002;
    for s in shades
        .iter()
        .filter(|s| s.from.is_finite() && s.to.is_finite())
    {
        let Some(k) = labels
            .iter()
            .position(|l| *l == s.label)
            .filter(|&k| k < rows)
        else {
            continue;
        };
        let (a, b) = (s.from.min(s.to).max(x.lo), s.to.max(s.from).min(x.hi));
        let (a, b) = if b - a < min_w {
            (a - min_w / 2.0, a + min_w / 2.0)
        } else {
            (a, b)
        };
        if a < x.hi && b > x.lo {
            let bar = [(a, row_y(k) - 0.36), (b, row_y(k) + 0.36)];
            // Lanes are opaque enough to read at a glance; panels keep the light tint.
            let c = shade_colour(k);
            let solid = RGBAColor(c.0, c.1, c.2, (c.3 * 2.5).min(0.8));
            chart.draw_series([Rectangle::new(bar, solid.filled())])?;
        }
    }
    let (_, oy) = area.get_base_pixel();
    let style = text(12, HPos::Left, VPos::Center);
    for (k, label) in labels.iter().take(rows).enumerate() {
        let (_, py) = chart.backend_coord(&(x.lo, row_y(k)));
        let across = shades
            .iter()
            .any(|s| s.label == *label && shaded_across(s, (x.lo, x.hi)));
        let label = if across {
            label.to_string()
        } else {
            format!("{label} (not shaded below)")
        };
        let room = side.dim_in_pixel().0.saturating_sub(10);
        let line = wrap(&side, &label, room, &style)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let line = if line.len() < label.len() {
            clip(&label, line.chars().count())
        } else {
            line
        };
        side.draw(&Text::new(line, (6, py - oy), style.clone()))?;
    }
    if more {
        let (_, py) = chart.backend_coord(&(x.lo, -0.5));
        let more = format!("… and {} more kinds of fault", labels.len() - rows);
        side.draw(&Text::new(more, (6, py - oy), style.color(&GREY)))?;
    }
    Ok(())
}

/// The panel's own range if it is usable, else its data padded (success rates and the like
/// keep their own scale rather than being pulled to zero).
pub(super) fn y_axis(panel: &Panel) -> Axis {
    if let Some((lo, hi)) = panel
        .y_range
        .filter(|r| r.0.is_finite() && r.1.is_finite() && r.1 > r.0)
    {
        return Axis::linear(lo, hi, 5);
    }
    let points = panel.series.iter().flat_map(|s| &s.points);
    let spread = panel.spread.iter().flat_map(|b| &b.points);
    let spread = spread
        .filter(|p| p.0.is_finite())
        .flat_map(|p| [p.1, p.2, p.3]);
    let values = points
        .filter(|p| p.0.is_finite())
        .map(|p| p.1)
        .chain(spread);
    let (lo, hi) = finite_range(values).map_or((0.0, 1.0), |r| padded(r, true));
    Axis::linear(lo, hi, 5)
}
