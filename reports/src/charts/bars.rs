//! Bars with 95% CI whiskers.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Axis, Bar, ChartError, ChartFormat, GREY, SIZE, colour, finite_range, frame, no_data,
    render, short, text, titled, y_area,
};

/// Bars with 95% CI whiskers, each labelled with its value (± half-width) where that fits.
/// Values may be negative (a paired difference against a baseline); a zero line is drawn then.
pub fn bars(
    title: &str,
    y_label: &str,
    bars: &[Bar],
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    render(
        format,
        SIZE,
        |a| draw(a, title, y_label, bars),
        |a| draw(a, title, y_label, bars),
    )
}

fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    y_label: &str,
    bars: &[Bar],
) -> Result<(), ChartError> {
    let area = titled(root, title)?;
    // A whisker is drawn only for a usable half-width: finite and not negative.
    let whisker = |b: &Bar| b.ci95.filter(|c| c.is_finite() && *c >= 0.0);
    let known: Vec<(usize, &Bar)> = bars
        .iter()
        .enumerate()
        .filter(|(_, b)| b.value.is_finite())
        .collect();
    let ends = known
        .iter()
        .flat_map(|(_, b)| [-1.0, 1.0].map(|s| b.value + s * whisker(b).unwrap_or(0.0)));
    // Bars start at zero, so zero is always in range.
    let (lo, hi) = match finite_range(ends.chain([0.0])) {
        Some(r) if !known.is_empty() => r,
        _ => return no_data(&area),
    };
    // Room beyond the whiskers for the value labels.
    let pad = (hi - lo).max(1e-12) * 0.12;
    let y = Axis::linear(
        if lo < 0.0 { lo - pad } else { 0.0 },
        if hi > 0.0 { hi + pad } else { 0.0 },
        6,
    );
    let y_area = y_area(&area, &[&y])?;
    let slot = area.dim_in_pixel().0.saturating_sub(y_area + 30) / bars.len() as u32;
    let names: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let x = Axis::categories(&names, bars.len(), slot);
    let mut chart = frame(&area, (&x, &y), ("", y_label), true, y_area)?;
    if lo < 0.0 {
        chart.draw_series([PathElement::new(
            [(x.lo, 0.0), (x.hi, 0.0)],
            BLACK.stroke_width(1),
        )])?;
    }
    for (i, _) in bars
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.value.is_finite())
    {
        let style = text(13, HPos::Center, VPos::Bottom).color(&GREY);
        chart.draw_series([
            EmptyElement::at((i as f64 + 0.5, 0.0)) + Text::new("n/a", (0, -4), style)
        ])?;
    }
    let ink = RGBColor(40, 40, 40).stroke_width(2);
    for (i, b) in known {
        let (mid, v, c) = (i as f64 + 0.5, b.value, whisker(b));
        chart.draw_series([Rectangle::new(
            [(mid - 0.32, 0.0), (mid + 0.32, v)],
            colour(i).mix(0.85).filled(),
        )])?;
        if let Some(c) = c {
            let cap = |y: f64| PathElement::new([(mid - 0.08, y), (mid + 0.08, y)], ink);
            chart.draw_series([
                PathElement::new([(mid, v - c), (mid, v + c)], ink),
                cap(v - c),
                cap(v + c),
            ])?;
        }
        // The label goes past the whisker's far end; it is shortened, or left out, to fit.
        let fits = |t: &String| t.chars().count() as u32 * 7 <= slot;
        let full = c.map(|c| format!("{} ± {}", short(v), short(c)));
        let Some(label) = full.into_iter().chain([short(v)]).find(fits) else {
            continue;
        };
        let c = c.unwrap_or(0.0);
        let (end, dy, v_pos) = if v >= 0.0 {
            (v + c, -5, VPos::Bottom)
        } else {
            (v - c, 5, VPos::Top)
        };
        let label = Text::new(label, (0, dy), text(13, HPos::Center, v_pos));
        chart.draw_series([EmptyElement::at((mid, end)) + label])?;
    }
    Ok(())
}
