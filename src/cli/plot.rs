// SPDX-License-Identifier: LGPL-2.1-or-later
//! SVG plots (plotters): phase error over time, and histograms.

use std::path::Path;

use plotters::prelude::*;

/// One named line of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

fn bounds(series: &[Series]) -> ((f64, f64), (f64, f64)) {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return ((0.0, 1.0), (-1.0, 1.0));
    }
    if x1 - x0 < 1e-9 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1.0);
    ((x0, x1), (y0 - pad, y1 + pad))
}

/// Split a line where the data has a gap (a step in x of more than ten
/// times the median step), so no line is drawn across missing data.
fn segments(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    let mut steps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steps.sort_by(f64::total_cmp);
    let Some(&median) = steps.get(steps.len() / 2) else {
        return vec![points];
    };
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if points[i].0 - points[i - 1].0 > 10.0 * median {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out.push(&points[start..]);
    out
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let ((x0, x1), (y0, y1)) = bounds(series);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let mut segments = segments(&s.points).into_iter();
        let first = segments.next().unwrap_or(&[]);
        chart
            .draw_series(LineSeries::new(first.iter().copied(), c.stroke_width(1)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        for seg in segments {
            chart.draw_series(LineSeries::new(seg.iter().copied(), c.stroke_width(1)))?;
        }
    }
    if series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    Ok(())
}

/// A line plot of every series.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> PlotResult {
    let root = SVGBackend::new(path, (900, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    draw_lines(&root, title, x_label, y_label, series)?;
    root.present()?;
    Ok(())
}

/// A line plot: title, axis labels, series.
pub struct LinePlot<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
}

/// A histogram of values in equal bins.
pub struct Histogram<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub values: &'a [f64],
    pub bins: usize,
}

/// A line plot above a histogram.
pub fn lines_and_histogram(path: &Path, l: &LinePlot<'_>, h: &Histogram<'_>) -> PlotResult {
    let root = SVGBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(450);
    draw_lines(&top, l.title, l.x_label, l.y_label, l.series)?;
    let values = h.values;
    let lo = values.iter().copied().fold(f64::MAX, f64::min).min(0.0);
    let mut hi = values.iter().copied().fold(f64::MIN, f64::max);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let bins = h.bins.max(1);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let top_count = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(&bottom)
        .caption(h.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..hi, 0u32..top_count + top_count / 10 + 1)?;
    chart
        .configure_mesh()
        .x_desc(h.x_label)
        .y_desc("count")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &n)| {
        let x = lo + i as f64 * width;
        Rectangle::new([(x, 0), (x + width, n)], color(0).filled())
    }))?;
    root.present()?;
    Ok(())
}
