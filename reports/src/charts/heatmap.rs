//! A heatmap over two swept parameters, with each cell's value written in it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Axis, ChartError, ChartFormat, GREY, SIZE, clip, finite_range, frame, no_data, render,
    short, text, titled, y_area,
};

/// Heatmap over two swept axes: `values[row][col]`, rows labelled `y_ticks` (row 0 at the
/// bottom, like a y axis), columns `x_ticks`. `None` or a non-finite value is a missing cell,
/// drawn grey and hatched. Cells carry their value where it fits; a colour scale on the right
/// is labelled `value_label` with the minimum, middle and maximum.
#[allow(clippy::too_many_arguments)] // the signature the callers asked for
pub fn heatmap(
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[String],
    y_ticks: &[String],
    values: &[Vec<Option<f64>>],
    value_label: &str,
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    let a = Axes {
        desc: (x_label, y_label),
        ticks: (x_ticks, y_ticks),
        value_label,
    };
    render(
        format,
        SIZE,
        |r| draw(r, title, &a, values),
        |r| draw(r, title, &a, values),
    )
}

struct Axes<'a> {
    desc: (&'a str, &'a str),
    ticks: (&'a [String], &'a [String]),
    value_label: &'a str,
}

/// A perceptually uniform, colour-blind-safe sequential map: a polynomial fit of matplotlib's
/// viridis (Matt Zucker's coefficients), t in 0..=1.
fn viridis(t: f64) -> RGBColor {
    const C: [[f64; 3]; 7] = [
        [0.277_727_327_2, 0.005_407_344_5, 0.334_099_805_3],
        [0.105_093_043_1, 1.404_613_529_9, 1.384_590_162_6],
        [-0.330_861_828_7, 0.214_847_559_5, 0.095_095_163_0],
        [-4.634_230_499_0, -5.799_100_973_4, -19.332_440_956_3],
        [6.228_269_936_3, 14.179_933_366_8, 56.690_552_600_7],
        [4.776_384_997_7, -13.745_145_377_7, -65.353_032_633_4],
        [-5.435_455_855_9, 4.645_852_612_2, 26.312_435_249_6],
    ];
    let t = t.clamp(0.0, 1.0);
    let channel = |k: usize| {
        let v = C.iter().rev().fold(0.0, |acc, c| acc * t + c[k]);
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    };
    RGBColor(channel(0), channel(1), channel(2))
}

fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    axes: &Axes,
    values: &[Vec<Option<f64>>],
) -> Result<(), ChartError> {
    let area = titled(root, title)?;
    let (rows, cols) = (values.len(), values.iter().map(Vec::len).max().unwrap_or(0));
    if rows == 0 || cols == 0 {
        return no_data(&area);
    }
    let cell = |r: usize, c: usize| {
        values[r]
            .get(c)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    };
    let range = finite_range(values.iter().flatten().flatten().copied());
    // Colours on a log scale when the values span more than two decades (an overloaded corner
    // beside healthy cells), else every healthy cell gets the same colour.
    let log = matches!(range, Some((lo, hi)) if lo > 0.0 && hi / lo > 100.0);
    let f = |v: f64| if log { libm::log10(v) } else { v };
    let norm = |v: f64| {
        range.map_or(0.5, |(lo, hi)| {
            if hi > lo {
                (f(v) - f(lo)) / (f(hi) - f(lo))
            } else {
                0.5
            }
        })
    };
    let w = area.dim_in_pixel().0 - 150; // the rest is the colour scale's
    let (plot, side) = area.split_horizontally(w);
    let y = Axis::categories(axes.ticks.1, rows, 14 * 8);
    let y_area = y_area(&area, &[&y])?;
    let cell_w = w.saturating_sub(y_area + 20) / cols as u32;
    let x = Axis::categories(axes.ticks.0, cols, cell_w);
    let mut chart = frame(&plot, (&x, &y), axes.desc, true, y_area)?;
    let (_, py) = chart.plotting_area().get_pixel_range();
    // Values are written only where they fit: a crowded grid is read from its colours.
    let annotate = cell_w >= 44 && (py.end - py.start) / rows as i32 >= 16;
    for (r, c) in (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))) {
        let (x0, y0) = (c as f64, r as f64);
        let corners = [(x0, y0), (x0 + 1.0, y0 + 1.0)];
        let mid = (x0 + 0.5, y0 + 0.5);
        let centred = |ink: &'static RGBColor| text(13, HPos::Center, VPos::Center).color(ink);
        if let Some(v) = cell(r, c) {
            let t = norm(v);
            chart.draw_series([Rectangle::new(corners, viridis(t).filled())])?;
            if annotate {
                let ink = if t < 0.55 { &WHITE } else { &BLACK };
                chart.draw_series([Text::new(short(v), mid, centred(ink))])?;
            }
        } else {
            chart.draw_series([Rectangle::new(corners, RGBColor(236, 236, 236).filled())])?;
            // Hatching tells "missing" apart from a pale colour of the scale.
            let hatch = (1..8).map(|k| {
                let f = f64::from(k) / 4.0;
                let (a, b) = if f <= 1.0 {
                    ((x0, y0 + 1.0 - f), (x0 + f, y0 + 1.0))
                } else {
                    ((x0 + f - 1.0, y0), (x0 + 1.0, y0 + 2.0 - f))
                };
                PathElement::new([a, b], RGBColor(190, 190, 190))
            });
            chart.draw_series(hatch)?;
            if annotate {
                chart.draw_series([Text::new("n/a", mid, centred(&GREY))])?;
            }
        }
        chart.draw_series([Rectangle::new(corners, WHITE.stroke_width(1))])?;
    }
    let base = side.get_base_pixel().1;
    let label = if log {
        format!("{} (log scale)", axes.value_label)
    } else {
        axes.value_label.to_string()
    };
    scale(&side, (py.start - base, py.end - base), range, log, &label)
}

/// The colour bar beside the plot, as tall as it, labelled at its ends and middle.
fn scale<DB: DrawingBackend>(
    area: &Area<DB>,
    (top, bottom): (i32, i32),
    range: Option<(f64, f64)>,
    log: bool,
    label: &str,
) -> Result<(), ChartError> {
    let Some((lo, hi)) = range else {
        return Ok(());
    };
    let (x0, x1, steps, span) = (14, 34, 64, (bottom - top).max(1));
    for k in 0..steps {
        let (ya, yb) = (bottom - span * k / steps, bottom - span * (k + 1) / steps);
        let t = (f64::from(k) + 0.5) / f64::from(steps);
        area.draw(&Rectangle::new([(x0, yb), (x1, ya)], viridis(t).filled()))?;
    }
    area.draw(&Rectangle::new([(x0, top), (x1, bottom)], GREY))?;
    // The middle of the bar: the geometric mean on a log scale.
    let middle = if log {
        libm::sqrt(lo * hi)
    } else {
        (lo + hi) / 2.0
    };
    let mid = (middle, (top + bottom) / 2);
    let marks = if hi > lo {
        vec![(hi, top), mid, (lo, bottom)]
    } else {
        vec![mid]
    };
    for (v, y) in marks {
        area.draw(&PathElement::new([(x1, y), (x1 + 4, y)], GREY))?;
        area.draw(&Text::new(
            short(v),
            (x1 + 7, y),
            text(12, HPos::Left, VPos::Center),
        ))?;
    }
    let rotated = text(14, HPos::Center, VPos::Center).transform(FontTransform::Rotate270);
    let (w, label) = (
        area.dim_in_pixel().0 as i32,
        clip(label, (span / 8).max(6) as usize),
    );
    Ok(area.draw(&Text::new(label, (w - 22, (top + bottom) / 2), rotated))?)
}
