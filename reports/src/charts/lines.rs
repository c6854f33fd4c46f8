//! Line charts over one x axis: latency CDFs and a metric against a swept parameter.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Area, Axis, Band, ChartError, ChartFormat, Entry, GREY, SIZE, Series, colour, draw_line,
    finite_range, frame, legend, legend_width, no_data, padded, render, short, text, titled,
    y_area,
};

/// Latency CDF, one curve per variant. Each Series' points are (latency_ms, cumulative fraction
/// 0..=1). The x axis is logarithmic when the latencies span more than two decades. Dashed
/// guides mark p50 and p99, each curve has a dot where it crosses them, and its legend entry
/// gives those latencies.
pub fn latency_cdf(
    title: &str,
    curves: &[Series],
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    render(
        format,
        SIZE,
        |a| draw_cdf(a, title, curves),
        |a| draw_cdf(a, title, curves),
    )
}

/// Metric vs a swept parameter: one line per policy/variant with its CI band shaded (low..high).
pub fn metric_vs_parameter(
    title: &str,
    x_label: &str,
    y_label: &str,
    bands: &[Band],
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    let (t, desc) = (title, (x_label, y_label));
    render(
        format,
        SIZE,
        |a| draw_sweep(a, t, desc, bands),
        |a| draw_sweep(a, t, desc, bands),
    )
}

/// The latency where a CDF first reaches `q`, interpolated between points.
pub(super) fn crossing(points: &[(f64, f64)], q: f64) -> Option<f64> {
    let mut prev: Option<(f64, f64)> = None;
    for &(x, y) in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
        if y >= q {
            return Some(match prev {
                Some((px, py)) if y > py => px + (x - px) * (q - py) / (y - py),
                _ => x,
            });
        }
        prev = Some((x, y));
    }
    None
}

/// Below this fraction of requests a CDF is flat against zero: the x axis starts where the
/// first curve reaches it, not at the fastest request of all (one request of a microsecond
/// would otherwise stretch a log axis over decades of nothing).
pub(super) const CDF_START: f64 = 0.01;

/// The x axis of a latency CDF, from the data: from where the first curve reaches
/// [`CDF_START`] (or its smallest latency) to the largest latency of all. Logarithmic when that
/// spans more than two decades. `None` without finite points.
pub(super) fn cdf_axis(curves: &[Series]) -> Option<Axis> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let (_, hi) = finite_range(
        curves
            .iter()
            .flat_map(|c| c.points.iter().filter(finite).map(|p| p.0)),
    )?;
    let start = |c: &Series| {
        crossing(&c.points, CDF_START)
            .or_else(|| c.points.iter().filter(finite).map(|p| p.0).next())
    };
    let lo = curves
        .iter()
        .filter_map(start)
        .fold(f64::INFINITY, f64::min);
    let lo = if lo.is_finite() { lo } else { hi };
    if lo > 0.0 && hi / lo > 100.0 {
        return Some(Axis::log(lo, hi));
    }
    let (lo, hi) = padded((lo.min(hi), hi), true);
    Some(Axis::linear(lo, hi, 8))
}

/// A curve's points in plot coordinates from the axis' left end on: the part left of it is
/// replaced by one point where the curve crosses the axis start (interpolated).
pub(super) fn from_axis_start(points: &[(f64, f64)], log: bool, x: &Axis) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = vec![];
    let mut prev: Option<(f64, f64)> = None;
    for &(px, py) in points {
        if !px.is_finite() || !py.is_finite() {
            out.push((f64::NAN, f64::NAN)); // a gap
            prev = None;
            continue;
        }
        if log && px <= 0.0 {
            continue;
        }
        let p = (x.pos(px), py);
        if p.0 < x.lo {
            prev = Some(p);
            continue;
        }
        if out.is_empty()
            && let Some(q) = prev.filter(|q| p.0 > q.0)
        {
            out.push((x.lo, q.1 + (p.1 - q.1) * (x.lo - q.0) / (p.0 - q.0)));
        }
        out.push(p);
        prev = Some(p);
    }
    out
}

fn draw_cdf<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    curves: &[Series],
) -> Result<(), ChartError> {
    let area = titled(root, title)?;
    let Some(x) = cdf_axis(curves) else {
        return no_data(&area);
    };
    // Up to 1.03, so that the curves' flat tops clear the frame.
    let y = Axis {
        hi: 1.03,
        ..Axis::linear(0.0, 1.0, 5)
    };
    let w = area.dim_in_pixel().0;
    let legend_w = legend_width(&area, curves.iter().map(|c| c.name.clone()), w)?;
    let (plot, side) = area.split_horizontally(w - legend_w);
    let desc = ("latency (ms)", "fraction of requests ≤ latency");
    let mut chart = frame(&plot, (&x, &y), desc, true, y_area(&plot, &[&y])?)?;

    // Guide labels go where a CDF leaves room: p99 at the left end (curves are still low
    // there), p50 at the right end (curves are already high), both just under their line.
    let guide = GREY.mix(0.8).stroke_width(1);
    for (q, name, at, h, dx) in [
        (0.5, "p50", x.hi, HPos::Right, -6),
        (0.99, "p99", x.lo, HPos::Left, 6),
    ] {
        chart.draw_series(DashedLineSeries::new([(x.lo, q), (x.hi, q)], 5, 5, guide))?;
        let label = Text::new(name, (dx, 3), text(12, h, VPos::Top).color(&GREY));
        chart.draw_series([EmptyElement::at((at, q)) + label])?;
    }
    let mut entries = vec![];
    for (i, c) in curves.iter().enumerate() {
        let shown = from_axis_start(&c.points, x.log, &x);
        draw_line(&mut chart, shown.into_iter(), (i, 2))?;
        let (p50, p99) = (crossing(&c.points, 0.5), crossing(&c.points, 0.99));
        for (q, v) in [(0.5, p50), (0.99, p99)] {
            if let Some(v) = v.filter(|&v| (!x.log || v > 0.0) && x.pos(v) >= x.lo) {
                chart.draw_series([Circle::new((x.pos(v), q), 4, colour(i).filled())])?;
            }
        }
        let note = match (p50, p99) {
            (Some(a), Some(b)) => Some(format!("p50 {} · p99 {} ms", short(a), short(b))),
            (Some(a), None) => Some(format!("p50 {} ms", short(a))),
            _ => None,
        };
        entries.push(Entry {
            note,
            ..Entry::line(&c.name, i)
        });
    }
    legend(&side, 10, &entries)
}

fn draw_sweep<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    desc: (&str, &str),
    bands: &[Band],
) -> Result<(), ChartError> {
    let area = titled(root, title)?;
    let rows = || {
        bands
            .iter()
            .flat_map(|b| &b.points)
            .filter(|p| p.0.is_finite())
    };
    let x_range = finite_range(rows().filter(|p| p.1.is_finite()).map(|p| p.0));
    let y_range = finite_range(rows().flat_map(|p| [p.1, p.2, p.3]));
    let (Some(x_range), Some(y_range)) = (x_range, y_range) else {
        return no_data(&area);
    };
    let (lo, hi) = padded(x_range, false);
    let x = Axis::linear(lo, hi, 8);
    // A metric over more than two decades (an overloaded variant beside healthy ones) is read
    // on a log scale, else the healthy ones are a flat line at zero.
    let positive = finite_range(rows().map(|p| p.1).filter(|v| *v > 0.0));
    let log = matches!(positive, Some((lo, hi)) if y_range.0 > 0.0 && hi / lo > 100.0);
    let y = match positive {
        Some((lo, hi)) if log => Axis::log(lo, hi),
        _ => {
            let (lo, hi) = padded(y_range, true);
            Axis::linear(lo, hi, 6)
        }
    };
    let floor = positive.map_or(0.0, |p| p.0);
    // On a log axis a band's lower edge may be at or below zero: draw it at the smallest mean.
    let low = |v: f64| y.pos(if log { v.max(floor) } else { v });
    let yp = |v: f64| y.pos(v);
    let desc_owned = (desc.0, format!("{} (log scale)", desc.1));
    let desc = if log {
        (desc.0, desc_owned.1.as_str())
    } else {
        desc
    };
    let w = area.dim_in_pixel().0;
    let legend_w = legend_width(&area, bands.iter().map(|b| b.name.clone()), w)?;
    let (plot, side) = area.split_horizontally(w - legend_w);
    let mut chart = frame(&plot, (&x, &y), desc, true, y_area(&plot, &[&y])?)?;

    // All bands first, so that no band covers another variant's line.
    for (i, b) in bands.iter().enumerate() {
        let known = b
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.2.is_finite() && p.3.is_finite());
        let known: Vec<_> = known.collect();
        let fill = colour(i).mix(0.18).filled();
        if let [p] = known[..] {
            chart.draw_series([PathElement::new(
                [(p.0, low(p.2)), (p.0, yp(p.3))],
                fill.stroke_width(3),
            )])?;
        } else if !known.is_empty() {
            let upper = known.iter().map(|p| (p.0, yp(p.3)));
            let outline: Vec<_> = upper
                .chain(known.iter().rev().map(|p| (p.0, low(p.2))))
                .collect();
            chart.draw_series([Polygon::new(outline, fill)])?;
        }
    }
    let mut entries = vec![];
    for (i, b) in bands.iter().enumerate() {
        draw_line(&mut chart, b.points.iter().map(|p| (p.0, yp(p.1))), (i, 2))?;
        let known = b
            .points
            .iter()
            .filter(|p| p.0.is_finite() && yp(p.1).is_finite());
        chart.draw_series(known.map(|p| Circle::new((p.0, yp(p.1)), 3, colour(i).filled())))?;
        entries.push(Entry {
            band: true,
            ..Entry::line(&b.name, i)
        });
    }
    legend(&side, 10, &entries)
}
