//! Stacked panels over one time axis, with fault windows shaded across all of them.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Axis, ChartError, ChartFormat, Entry, GREY, LEGEND_W, Panel, Shade, clip, colour,
    draw_line, finite_range, frame, legend, no_data, padded, render, text, titled, y_area,
};

const SHADE_ROW_H: u32 = 28;

/// Stacked panels sharing one x axis in seconds ("time (s)"), with `shades` drawn as translucent
/// vertical bands across every panel. Shades with the same label share a colour and one legend
/// entry (in a row under the title). A panel grows with its number of series, so that its
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
    let shade_row = if shades.is_empty() { 0 } else { SHADE_ROW_H };
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

    // One legend entry per distinct label, in order of first appearance.
    let mut labels: Vec<&str> = vec![];
    for s in shades {
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
    }
    if !labels.is_empty() {
        let (row, rest) = area.split_vertically(SHADE_ROW_H);
        let (mut at, style) = (60, text(13, HPos::Left, VPos::Center));
        for (k, label) in labels.iter().enumerate() {
            let label = clip(label, 40);
            let tw = row.estimate_text_size(&label, &style)?.0 as i32;
            if at + 40 + tw > row.dim_in_pixel().0 as i32 {
                let more = format!("… and {} more", labels.len() - k);
                row.draw(&Text::new(more, (at, 12), style.color(&GREY)))?;
                break;
            }
            row.draw(&Rectangle::new(
                [(at, 5), (at + 26, 19)],
                shade_colour(k).filled(),
            ))?;
            row.draw(&Text::new(label, (at + 32, 12), style.clone()))?;
            at += 60 + tw;
        }
        area = rest;
    }

    let y_axes: Vec<Axis> = panels.iter().map(y_axis).collect();
    // One label width for all panels keeps their plot areas aligned.
    let y_area = y_area(&area, &y_axes.iter().collect::<Vec<_>>())?;
    for (k, (panel, y)) in panels.iter().zip(&y_axes).enumerate() {
        let last = k + 1 == panels.len();
        let (part, rest) = if last {
            (area.clone(), area.clone())
        } else {
            area.split_vertically(heights[k])
        };
        area = rest;
        let (plot, side) = part.split_horizontally(part.dim_in_pixel().0 - LEGEND_W);
        let mut chart = frame(&plot, (&x, y), ("time (s)", &panel.y_label), last, y_area)?;
        // An instant event would be invisible: every window gets at least 0.2% of the axis.
        let min_w = (x.hi - x.lo) * 0.002;
        for s in shades
            .iter()
            .filter(|s| s.from.is_finite() && s.to.is_finite())
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

/// The panel's own range if it is usable, else its data padded (success rates and the like
/// keep their own scale rather than being pulled to zero).
fn y_axis(panel: &Panel) -> Axis {
    if let Some((lo, hi)) = panel
        .y_range
        .filter(|r| r.0.is_finite() && r.1.is_finite() && r.1 > r.0)
    {
        return Axis::linear(lo, hi, 5);
    }
    let points = panel.series.iter().flat_map(|s| &s.points);
    let (lo, hi) = finite_range(points.filter(|p| p.0.is_finite()).map(|p| p.1))
        .map_or((0.0, 1.0), |r| padded(r, true));
    Axis::linear(lo, hi, 5)
}
