//! Server-side SVG charts for the supervisors' analytics dashboard.
//!
//! Pure functions from numbers to an SVG string that templates embed with `|safe`, so every
//! label, title and unit is escaped here. No script and no `style` attribute: only classes and
//! presentation attributes, so the page's CSP holds. Colours come from the Okabe–Ito palette by
//! series index (CSS can override them through the `chart-s{n}` classes); text and grid lines use
//! `currentColor`. Each chart is an `<svg role="img">` named by its `<title>` and `<desc>`, and
//! every data point carries a `<title>` tooltip such as `2026-11-03: 14`.
//!
//! Bad numbers (NaN, infinities) count as zero; a chart without one finite value says "No data".

use std::fmt::Write;

/// One line, or one colour of bars: values aligned with the chart's x labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<f64>) -> Self {
        Self { name: name.into(), points }
    }
}

/// A chart over labelled x positions (days, weeks, agents…).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// Base of the element ids (`{id}`, `{id}-title`, `{id}-desc`), reduced to `[a-z0-9-]`.
    pub id: String,
    /// The accessible name of the chart (not drawn: the page shows its own heading).
    pub title: String,
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
    /// Appended to axis ticks and tooltips: "", "%", "h", "min".
    pub unit: String,
}

/// Okabe–Ito colours, told apart with the common colour-vision deficiencies.
pub const PALETTE: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"];

/// The colour of series `index`.
pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Space right of the plot.
const RIGHT: f64 = 12.0;
/// Space under the plot, for the x labels.
const BOTTOM: f64 = 28.0;
/// Font size of the legend and of the horizontal bars' labels.
const FONT: f64 = 11.0;
/// Font size of the axes.
const AXIS_FONT: f64 = 10.0;
const MAX_X_LABELS: usize = 10;
const LEGEND_ROW: f64 = 16.0;
const LEGEND_ROWS: usize = 3;
/// Widest legend entry name, in pixels.
const LEGEND_NAME: f64 = 160.0;
/// Values are clamped to ±LIMIT so sums and scales stay finite.
const LIMIT: f64 = 1e15;
const NO_DATA: &str = "No data";

/// A line per series, with points, a y axis of nice ticks and a legend.
pub fn line(chart: &Chart) -> String {
    render(chart, Kind::Line)
}

/// Grouped vertical bars: one group per x label, one bar per series.
pub fn bars(chart: &Chart) -> String {
    render(chart, Kind::Bars)
}

/// Stacked vertical bars: one bar per x label, one segment per series.
pub fn stacked(chart: &Chart) -> String {
    render(chart, Kind::Stacked)
}

/// Horizontal bars for rankings (top issues, top search terms), in the order given, with
/// each value printed at the end of its bar. The height grows with the number of rows.
pub fn hbars(title: &str, id: &str, rows: &[(String, f64)], unit: &str) -> String {
    const ROW: f64 = 24.0;
    const PAD: f64 = 8.0;
    let id = sanitise_id(id);
    if !rows.iter().any(|(_, v)| v.is_finite()) {
        return no_data(&id, "chart-hbars", title, 80.0);
    }
    let values: Vec<f64> = rows.iter().map(|(_, v)| clean(*v).max(0.0)).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let texts: Vec<String> = values.iter().map(|&v| with_unit(v, unit)).collect();
    let label_w = rows.iter().map(|(label, _)| text_width(label, FONT)).fold(0.0, f64::max).clamp(40.0, 240.0);
    let value_w = texts.iter().map(|t| text_width(t, FONT)).fold(0.0, f64::max) + 8.0;
    let bar_x = PAD + label_w + 8.0;
    let bar_max = (WIDTH - PAD - value_w - bar_x).max(1.0);
    let height = PAD * 2.0 + ROW * rows.len() as f64;

    let mut out = String::with_capacity(1024 + rows.len() * 320);
    open(&mut out, &id, "chart-hbars", height, title, &describe_rows(rows, &values, unit));
    let _ = write!(out, r#"<g class="chart-data chart-s0" font-size="{}" fill="{}">"#, num(FONT), colour(0));
    for (r, (((label, _), &v), text)) in rows.iter().zip(&values).zip(&texts).enumerate() {
        let top = PAD + ROW * r as f64;
        let baseline = num(top + ROW / 2.0 + 4.0);
        let len = v / max * bar_max;
        // The row's tooltip covers its label, bar and value.
        let _ = write!(out, r#"<g class="chart-row"><title>{}</title>"#, escape(&format!("{label}: {text}")));
        let (shown, _) = fit(label, label_w, FONT);
        let _ = write!(
            out,
            r#"<text x="{}" y="{baseline}" text-anchor="end" fill="currentColor">{}</text>"#,
            num(PAD + label_w),
            escape(&shown)
        );
        let _ = write!(
            out,
            r#"<rect class="chart-bar" x="{}" y="{}" width="{}" height="16" rx="2"/>"#,
            num(bar_x),
            num(top + 4.0),
            num(len)
        );
        let _ = write!(
            out,
            r#"<text class="chart-value" x="{}" y="{baseline}" fill="currentColor">{}</text></g>"#,
            num(bar_x + len + 4.0),
            escape(text)
        );
    }
    out.push_str("</g></svg>");
    out
}

/// Tick values for an axis covering `min..=max`: steps of 1, 2 or 5 × 10ⁿ (at least 0.1, since
/// labels show one decimal), at most 6 ticks, the first at or below `min` and the last at or above
/// `max`. An empty range covers one unit (`0, 0` gives `0..=1`); non-finite bounds count as 0.
pub fn nice_ticks(min: f64, max: f64) -> Vec<f64> {
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let (mut lo, mut hi) = (finite(min), finite(max));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let span = hi - lo;
    if !span.is_finite() {
        return vec![lo, hi];
    }
    let step = nice_step(span / 5.0).max(0.1);
    let start = (lo / step + 1e-9).floor() * step;
    let end = (hi / step - 1e-9).ceil() * step;
    let count = ((end - start) / step).round();
    let count = if count.is_finite() { (count as usize).clamp(1, 50) } else { 1 };
    (0..=count).map(|i| tidy(start + step * i as f64)).collect()
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let f = raw / magnitude;
    let nice = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// `v` without floating-point dust (0.30000000000000004 → 0.3) and without a negative zero.
fn tidy(v: f64) -> f64 {
    let r = if v.abs() < 1e9 { (v * 1e6).round() / 1e6 } else { v };
    if r == 0.0 { 0.0 } else { r }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Line,
    Bars,
    Stacked,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Line => "chart-line",
            Kind::Bars => "chart-bars",
            Kind::Stacked => "chart-stacked",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Line => "Line chart",
            Kind::Bars => "Bar chart",
            Kind::Stacked => "Stacked bar chart",
        }
    }
}

/// The plot area and its y scale.
struct Frame {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    y0: f64,
    y1: f64,
    n: usize,
}

impl Frame {
    /// Width given to each x position.
    fn band(&self) -> f64 {
        (self.right - self.left) / self.n.max(1) as f64
    }

    /// Centre of x position `i`.
    fn x(&self, i: usize) -> f64 {
        self.left + self.band() * (i as f64 + 0.5)
    }

    /// Height of `v` above the bottom of the axis.
    fn h(&self, v: f64) -> f64 {
        let span = self.y1 - self.y0;
        if span > 0.0 && span.is_finite() { (v - self.y0) / span * (self.bottom - self.top) } else { 0.0 }
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - self.h(v)
    }
}

fn render(chart: &Chart, kind: Kind) -> String {
    let id = sanitise_id(&chart.id);
    let n = if chart.x_labels.is_empty() {
        chart.series.iter().map(|s| s.points.len()).max().unwrap_or(0)
    } else {
        chart.x_labels.len()
    };
    if !chart.series.iter().any(|s| s.points.iter().take(n).any(|v| v.is_finite())) {
        return no_data(&id, kind.class(), &chart.title, HEIGHT);
    }
    // The values as drawn: bad numbers as 0, negatives clamped at 0 for bars.
    let drawn = |v: f64| if kind == Kind::Line { clean(v) } else { clean(v).max(0.0) };
    let values: Vec<Vec<f64>> =
        chart.series.iter().map(|s| s.points.iter().take(n).map(|&v| drawn(v)).collect()).collect();
    let (lo, hi) = match kind {
        Kind::Stacked => min_max((0..n).map(|i| values.iter().filter_map(|s| s.get(i)).sum::<f64>())),
        Kind::Line | Kind::Bars => min_max(values.iter().flatten().copied()),
    };
    let ticks = nice_ticks(lo.min(0.0), hi.max(0.0));
    let tick_labels: Vec<String> = ticks.iter().map(|&t| with_unit(t, &chart.unit)).collect();
    let left = (tick_labels.iter().map(|t| text_width(t, AXIS_FONT)).fold(0.0, f64::max) + 12.0).clamp(32.0, 160.0);
    let entries: Vec<(usize, &str)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.name.is_empty())
        .map(|(k, s)| (k, s.name.as_str()))
        .collect();
    let (legend_svg, legend_rows) = legend(&entries, left);
    let top = if legend_rows == 0 { 12.0 } else { 14.0 + LEGEND_ROW * legend_rows as f64 };
    let frame = Frame {
        left,
        top,
        right: WIDTH - RIGHT,
        bottom: HEIGHT - BOTTOM,
        y0: ticks.first().copied().unwrap_or(0.0),
        y1: ticks.last().copied().unwrap_or(1.0),
        n,
    };

    let mut out = String::with_capacity(2048 + n * values.len() * 160);
    open(&mut out, &id, kind.class(), HEIGHT, &chart.title, &describe(kind, chart, n, lo, hi));
    axes(&mut out, &frame, &ticks, &tick_labels, &chart.x_labels);
    out.push_str(r#"<g class="chart-data">"#);
    match kind {
        Kind::Line => draw_lines(&mut out, &frame, chart, &values),
        Kind::Bars => draw_bars(&mut out, &frame, chart, &values),
        Kind::Stacked => draw_stacked(&mut out, &frame, chart, &values),
    }
    out.push_str("</g>");
    out.push_str(&legend_svg);
    out.push_str("</svg>");
    out
}

/// Grid lines, the zero line, y tick labels and (at most [`MAX_X_LABELS`]) x labels.
fn axes(out: &mut String, f: &Frame, ticks: &[f64], tick_labels: &[String], x_labels: &[String]) {
    let (x1, x2) = (num(f.left), num(f.right));
    out.push_str(r#"<g class="chart-grid" stroke="currentColor" stroke-opacity="0.15">"#);
    for &t in ticks {
        let y = num(f.y(t));
        let _ = write!(out, r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"/>"#);
    }
    out.push_str("</g>");
    let zero = num(f.y(0.0));
    let _ = write!(
        out,
        r#"<line class="chart-zero" x1="{x1}" y1="{zero}" x2="{x2}" y2="{zero}" stroke="currentColor" stroke-opacity="0.5"/>"#
    );

    let _ = write!(out, r#"<g class="chart-y" fill="currentColor" font-size="{}" text-anchor="end">"#, num(AXIS_FONT));
    for (&t, label) in ticks.iter().zip(tick_labels) {
        let _ = write!(out, r#"<text x="{}" y="{}">{}</text>"#, num(f.left - 6.0), num(f.y(t) + 3.5), escape(label));
    }
    out.push_str("</g>");

    let step = f.n.div_ceil(MAX_X_LABELS).max(1);
    let room = f.band() * step as f64 - 4.0;
    let _ =
        write!(out, r#"<g class="chart-x" fill="currentColor" font-size="{}" text-anchor="middle">"#, num(AXIS_FONT));
    for i in (0..f.n).step_by(step) {
        let Some(label) = x_labels.get(i).filter(|l| !l.is_empty()) else { continue };
        let attrs = format!(r#"x="{}" y="{}""#, num(f.x(i)), num(f.bottom + 16.0));
        text_fitted(out, &attrs, label, room, AXIS_FONT);
    }
    out.push_str("</g>");
}

fn draw_lines(out: &mut String, f: &Frame, chart: &Chart, values: &[Vec<f64>]) {
    let multi = values.len() > 1;
    let r = if f.n > 60 { "2" } else { "3" };
    for (k, (series, points)) in chart.series.iter().zip(values).enumerate() {
        let c = colour(k);
        let _ = write!(out, r#"<g class="chart-series chart-s{k}" fill="{c}">"#);
        if points.len() > 1 {
            let _ =
                write!(out, r#"<polyline fill="none" stroke="{c}" stroke-width="2" stroke-linejoin="round" points=""#);
            for (i, &v) in points.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{},{}", num(f.x(i)), num(f.y(v)));
            }
            out.push_str(r#""/>"#);
        }
        for (i, &v) in points.iter().enumerate() {
            let _ = write!(
                out,
                r#"<circle class="chart-point" cx="{}" cy="{}" r="{r}"><title>{}</title></circle>"#,
                num(f.x(i)),
                num(f.y(v)),
                escape(&tip(chart, series, multi, i, v))
            );
        }
        out.push_str("</g>");
    }
}

fn draw_bars(out: &mut String, f: &Frame, chart: &Chart, values: &[Vec<f64>]) {
    let multi = values.len() > 1;
    let group = f.band() * 0.8;
    let width = group / values.len().max(1) as f64;
    let gap = if width > 6.0 { 1.0 } else { 0.0 };
    for (k, (series, points)) in chart.series.iter().zip(values).enumerate() {
        let _ = write!(out, r#"<g class="chart-series chart-s{k}" fill="{}">"#, colour(k));
        for (i, &v) in points.iter().enumerate() {
            let x = f.x(i) - group / 2.0 + width * k as f64;
            let h = f.h(v).max(0.0);
            let _ = write!(
                out,
                r#"<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
                num(x),
                num(f.bottom - h),
                num(width - gap),
                num(h),
                escape(&tip(chart, series, multi, i, v))
            );
        }
        out.push_str("</g>");
    }
}

fn draw_stacked(out: &mut String, f: &Frame, chart: &Chart, values: &[Vec<f64>]) {
    let multi = values.len() > 1;
    let width = f.band() * 0.7;
    let mut base = vec![0.0_f64; f.n];
    for (k, (series, points)) in chart.series.iter().zip(values).enumerate() {
        let _ = write!(out, r#"<g class="chart-series chart-s{k}" fill="{}">"#, colour(k));
        for (i, &v) in points.iter().enumerate() {
            let Some(b) = base.get_mut(i) else { continue };
            if v <= 0.0 {
                continue;
            }
            let (y_top, y_bottom) = (f.y(*b + v), f.y(*b));
            *b += v;
            let _ = write!(
                out,
                r#"<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
                num(f.x(i) - width / 2.0),
                num(y_top),
                num(width),
                num(y_bottom - y_top),
                escape(&tip(chart, series, multi, i, v))
            );
        }
        out.push_str("</g>");
    }
}

/// The legend, left to right from `left`, wrapping onto at most [`LEGEND_ROWS`] rows (then
/// "+N", naming the rest in its tooltip). Returns the markup and the rows used.
fn legend(entries: &[(usize, &str)], left: f64) -> (String, usize) {
    let mut out = String::new();
    if entries.is_empty() {
        return (out, 0);
    }
    let right = WIDTH - RIGHT;
    let more_w = text_width("+99", FONT) + 8.0;
    let row_y = |row: usize| 4.0 + LEGEND_ROW * row as f64;
    let _ = write!(out, r#"<g class="chart-legend" font-size="{}">"#, num(FONT));
    let (mut x, mut row) = (left, 0usize);
    for (pos, &(k, name)) in entries.iter().enumerate() {
        let (shown, _) = fit(name, LEGEND_NAME, FONT);
        let w = 14.0 + text_width(&shown, FONT) + 14.0;
        let last = pos + 1 == entries.len();
        let reserve = if row + 1 == LEGEND_ROWS && !last { more_w } else { 0.0 };
        if x > left && x + w + reserve > right {
            if row + 1 == LEGEND_ROWS {
                let rest: Vec<&str> = entries[pos..].iter().map(|&(_, rest)| rest).collect();
                let _ = write!(
                    out,
                    r#"<text x="{}" y="{}" fill="currentColor"><title>{}</title>+{}</text>"#,
                    num(x),
                    num(row_y(row) + 9.0),
                    escape(&rest.join(", ")),
                    rest.len()
                );
                break;
            }
            row += 1;
            x = left;
        }
        let y = row_y(row);
        let _ = write!(
            out,
            r#"<g class="chart-s{k}"><rect x="{}" y="{}" width="10" height="10" rx="2" fill="{}"/>"#,
            num(x),
            num(y),
            colour(k)
        );
        let attrs = format!(r#"x="{}" y="{}" fill="currentColor""#, num(x + 14.0), num(y + 9.0));
        text_fitted(&mut out, &attrs, name, LEGEND_NAME, FONT);
        out.push_str("</g>");
        x += w;
    }
    out.push_str("</g>");
    (out, row + 1)
}

/// The opening `<svg>` with its accessible name and description.
fn open(out: &mut String, id: &str, class: &str, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart {class}" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        w = num(WIDTH),
        h = num(height),
        title = escape(title),
        desc = escape(desc)
    );
}

fn no_data(id: &str, class: &str, title: &str, height: f64) -> String {
    let mut out = String::with_capacity(512);
    open(&mut out, id, class, height, title, "No data.");
    let _ = write!(
        out,
        r#"<text class="chart-empty" x="{}" y="{}" text-anchor="middle" fill="currentColor" font-size="12">{NO_DATA}</text></svg>"#,
        num(WIDTH / 2.0),
        num(height / 2.0 + 4.0)
    );
    out
}

/// A summary for screen readers (the chart's children are not read out under `role="img"`).
fn describe(kind: Kind, chart: &Chart, n: usize, lo: f64, hi: f64) -> String {
    let mut d = kind.noun().to_string();
    let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).filter(|s| !s.is_empty()).collect();
    match names.as_slice() {
        [] => {}
        [one] => {
            let _ = write!(d, " of {one}");
        }
        many => {
            let _ = write!(d, ", {} series: {}", many.len(), many.join(", "));
        }
    }
    if n == 1 {
        let _ = write!(d, "; one point, {}", x_label(chart, 0));
    } else {
        let _ = write!(d, "; {n} points from {} to {}", x_label(chart, 0), x_label(chart, n.saturating_sub(1)));
    }
    let what = if kind == Kind::Stacked { "totals" } else { "values" };
    let _ = write!(d, "; {what} from {} to {}.", with_unit(lo, &chart.unit), with_unit(hi, &chart.unit));
    d
}

/// The first ten rows of a ranking, for screen readers.
fn describe_rows(rows: &[(String, f64)], values: &[f64], unit: &str) -> String {
    let mut d = String::from("Ranking");
    for (r, ((label, _), &v)) in rows.iter().zip(values).enumerate().take(10) {
        d.push_str(if r == 0 { ": " } else { "; " });
        let _ = write!(d, "{label}: {}", with_unit(v, unit));
    }
    if rows.len() > 10 {
        let _ = write!(d, "; and {} more", rows.len() - 10);
    }
    d.push('.');
    d
}

/// A data point's tooltip: `2026-11-03: 14`, or `Opened, 2026-11-03: 14` when there are several
/// series.
fn tip(chart: &Chart, series: &Series, multi: bool, i: usize, v: f64) -> String {
    let value = with_unit(v, &chart.unit);
    let label = x_label(chart, i);
    if multi && !series.name.is_empty() {
        format!("{}, {label}: {value}", series.name)
    } else {
        format!("{label}: {value}")
    }
}

/// The label of x position `i`, or its 1-based number when it has none.
fn x_label(chart: &Chart, i: usize) -> String {
    chart.x_labels.get(i).filter(|l| !l.is_empty()).cloned().unwrap_or_else(|| (i + 1).to_string())
}

/// A `<text>` showing `full` cut to `max_w` pixels, the full text in its tooltip when cut.
/// `attrs` must hold only trusted markup (numbers and constants).
fn text_fitted(out: &mut String, attrs: &str, full: &str, max_w: f64, font: f64) {
    let (shown, cut) = fit(full, max_w, font);
    let _ = write!(out, "<text {attrs}>");
    if cut {
        let _ = write!(out, "<title>{}</title>", escape(full));
    }
    out.push_str(&escape(&shown));
    out.push_str("</text>");
}

/// `s` cut with an ellipsis to fit `max_w` pixels at font size `font`; whether it was cut.
fn fit(s: &str, max_w: f64, font: f64) -> (String, bool) {
    if text_width(s, font) <= max_w {
        return (s.to_string(), false);
    }
    let budget = max_w - char_width('…', font);
    let mut width = 0.0;
    let mut cut = String::new();
    for c in s.chars() {
        let w = char_width(c, font);
        if width + w > budget {
            break;
        }
        width += w;
        cut.push(c);
    }
    let mut cut = cut.trim_end().to_string();
    cut.push('…');
    (cut, true)
}

/// Estimated width of `s` in pixels: no font metrics on the server, so Latin characters count
/// as 0.6 em and CJK (and other wide) characters as 1 em.
fn text_width(s: &str, font: f64) -> f64 {
    s.chars().map(|c| char_width(c, font)).sum()
}

fn char_width(c: char, font: f64) -> f64 {
    if u32::from(c) >= 0x2E80 { font } else { font * 0.6 }
}

/// `v` with at most one decimal (`2`, `2.5`, never `2.0` or `-0`); bad numbers print as 0.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = if (v * 10.0).is_finite() { (v * 10.0).round() / 10.0 } else { v };
    if r == 0.0 {
        "0".to_string()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    format!("{}{unit}", num(v))
}

/// `v` as drawn: non-finite as 0, clamped to ±[`LIMIT`].
fn clean(v: f64) -> f64 {
    if v.is_finite() { v.clamp(-LIMIT, LIMIT) } else { 0.0 }
}

/// Smallest and largest of `values`; `(0, 0)` when there are none.
fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo <= hi { (lo, hi) } else { (0.0, 0.0) }
}

/// `raw` lowercased with every run of characters outside `[a-z0-9]` turned into one `-`;
/// `chart` when nothing is left.
fn sanitise_id(raw: &str) -> String {
    let mut id = String::with_capacity(raw.len().min(64));
    for c in raw.chars().flat_map(char::to_lowercase).take(64) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-');
    if id.is_empty() { "chart".to_string() } else { id.to_string() }
}

/// `s` safe in SVG text and attribute values: the five special characters escaped, control
/// characters as spaces.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(labels: &[&str], series: Vec<Series>) -> Chart {
        Chart {
            id: "test".into(),
            title: "Test".into(),
            x_labels: labels.iter().map(|l| l.to_string()).collect(),
            series,
            unit: String::new(),
        }
    }

    fn days(n: usize) -> Vec<String> {
        (1..=n).map(|d| format!("2026-11-{d:02}")).collect()
    }

    /// Loose well-formedness: the elements we emit open and close in equal numbers, no script,
    /// no style.
    fn assert_balanced(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count(), "{svg}");
        assert_eq!(svg.matches("<g ").count() + svg.matches("<g>").count(), svg.matches("</g>").count(), "{svg}");
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count(), "{svg}");
        assert_eq!(svg.matches("<title").count(), svg.matches("</title>").count(), "{svg}");
        assert_eq!(svg.matches('<').count(), svg.matches('>').count(), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
        assert!(svg.contains(r#"role="img""#), "{svg}");
        assert!(svg.contains("aria-labelledby=\"") && svg.contains("<desc id=\""), "{svg}");
    }

    /// The opening tags of every element starting with `start`.
    fn tags<'a>(svg: &'a str, start: &str) -> Vec<&'a str> {
        svg.match_indices(start)
            .map(|(i, _)| {
                let rest = &svg[i..];
                &rest[..rest.find('>').map_or(rest.len(), |e| e + 1)]
            })
            .collect()
    }

    fn attr(tag: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let start = tag.find(&key).expect("attribute present") + key.len();
        let end = start + tag[start..].find('"').expect("attribute closed");
        tag[start..end].parse().expect("a number")
    }

    fn bar_heights(svg: &str) -> Vec<f64> {
        tags(svg, r#"<rect class="chart-bar""#).iter().map(|t| attr(t, "height")).collect()
    }

    fn all(c: &Chart) -> [String; 3] {
        [line(c), bars(c), stacked(c)]
    }

    #[test]
    fn nice_ticks_use_1_2_5_steps() {
        assert_eq!(nice_ticks(0.0, 7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.0, 1234.0), vec![0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(nice_ticks(0.0, 3.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_ticks(-3.0, 1.0), vec![-3.0, -2.0, -1.0, 0.0, 1.0]);
        let zero = nice_ticks(0.0, 0.0);
        assert_eq!(zero.first(), Some(&0.0));
        assert_eq!(zero.last(), Some(&1.0));
        assert!(zero.len() >= 2 && zero.len() <= 6);
        let tiny = nice_ticks(0.0, 0.03);
        assert_eq!(tiny, vec![0.0, 0.1]);
        let bad = nice_ticks(f64::NAN, f64::INFINITY);
        assert_eq!(bad.first(), Some(&0.0));
        assert_eq!(bad.last(), Some(&1.0));
        for max in [0.5, 1.0, 9.0, 10.0, 99.0, 101.0, 1e6, 3.3e9] {
            let ticks = nice_ticks(0.0, max);
            assert!((3..=6).contains(&ticks.len()), "{max}: {ticks:?}");
            assert_eq!(ticks[0], 0.0);
            assert!(*ticks.last().unwrap() >= max, "{max}: {ticks:?}");
        }
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        assert_eq!(num(2.0), "2");
        assert_eq!(num(2.25), "2.3");
        assert_eq!(num(0.30000000000000004), "0.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(1234.56), "1234.6");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(with_unit(50.0, "%"), "50%");
    }

    #[test]
    fn ids_are_sanitised() {
        assert_eq!(sanitise_id("Volume by Day!"), "volume-by-day");
        assert_eq!(sanitise_id("a\"><script>"), "a-script");
        assert_eq!(sanitise_id(""), "chart");
        assert_eq!(sanitise_id("工单"), "chart");
    }

    #[test]
    fn charts_are_balanced_and_accessible() {
        let labels = days(30);
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let c = chart(
            &labels,
            vec![
                Series::new("Opened", (0..30_i32).map(|i| f64::from(i % 7) * 3.0).collect()),
                Series::new("Resolved", (0..30_i32).map(|i| f64::from(i % 5) * 2.5).collect()),
            ],
        );
        for svg in all(&c) {
            assert_balanced(&svg);
            assert!(svg.contains(r#"<title id="test-title">Test</title>"#), "{svg}");
            assert!(svg.contains(r#"<desc id="test-desc">"#), "{svg}");
            assert!(svg.contains("Opened, 2026-11-02: 3</title>"), "{svg}");
            assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]), "{svg}");
        }
        let svg = line(&c);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 60);
        let svg = hbars("Top issues", "top", &[("Login".into(), 14.0), ("Refund".into(), 9.5)], "");
        assert_balanced(&svg);
        assert!(svg.contains(">14</text>") && svg.contains(">9.5</text>"), "{svg}");
        assert!(svg.contains("<title>Login: 14</title>"), "{svg}");
    }

    #[test]
    fn single_series_tooltip_is_label_and_value() {
        let mut c = chart(&["2026-11-03"], vec![Series::new("Opened", vec![14.0])]);
        assert!(line(&c).contains("<title>2026-11-03: 14</title>"));
        c.unit = "h".into();
        let svg = bars(&c);
        assert_balanced(&svg);
        assert!(svg.contains("<title>2026-11-03: 14h</title>"), "{svg}");
    }

    #[test]
    fn labels_are_escaped_everywhere() {
        let evil = r#"<script>alert(1)</script> & "x" it's"#;
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; it&#39;s";
        let c = Chart {
            id: evil.into(),
            title: evil.into(),
            x_labels: vec![evil.into(), "b".into()],
            series: vec![Series::new(evil, vec![1.0, 2.0]), Series::new("other", vec![2.0, 1.0])],
            unit: evil.into(),
        };
        let rows = [(evil.to_string(), 3.0)];
        for svg in [line(&c), bars(&c), stacked(&c), hbars(evil, evil, &rows, evil)] {
            assert!(svg.contains(escaped), "{svg}");
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains("</script"), "{svg}");
            assert!(!svg.contains(r#""x""#), "{svg}");
            assert!(!svg.contains("it's"), "{svg}");
            assert!(!svg.contains("& "), "{svg}");
            assert_eq!(svg.matches('<').count(), svg.matches('>').count(), "{svg}");
        }
    }

    #[test]
    fn bar_heights_are_proportional() {
        let c = chart(&["a", "b", "c"], vec![Series::new("", vec![10.0, 20.0, -5.0])]);
        let h = bar_heights(&bars(&c));
        assert_eq!(h.len(), 3);
        assert!(h[0] > 0.0);
        assert!((h[1] - 2.0 * h[0]).abs() < 0.2, "{h:?}");
        assert_eq!(h[2], 0.0, "negative bars are clamped at 0");

        // Stacked: segments proportional too, negatives and zeros not drawn.
        let c = chart(&["a", "b"], vec![Series::new("x", vec![10.0, 0.0]), Series::new("y", vec![20.0, -4.0])]);
        let h = bar_heights(&stacked(&c));
        assert_eq!(h.len(), 2, "{h:?}");
        assert!((h[1] - 2.0 * h[0]).abs() < 0.2, "{h:?}");

        let svg = hbars("t", "t", &[("a".into(), 30.0), ("b".into(), 15.0), ("c".into(), f64::NAN)], "min");
        let w: Vec<f64> = tags(&svg, r#"<rect class="chart-bar""#).iter().map(|t| attr(t, "width")).collect();
        assert_eq!(w.len(), 3);
        assert!((w[0] - 2.0 * w[1]).abs() < 0.2, "{w:?}");
        assert_eq!(w[2], 0.0);
        assert!(svg.contains(">30min</text>"), "{svg}");
    }

    #[test]
    fn empty_and_bad_inputs_say_no_data() {
        fn says_no_data(svg: &str) {
            assert_balanced(svg);
            assert!(svg.contains(">No data</text>"), "{svg}");
        }
        for c in [
            Chart::default(),
            chart(&["a", "b"], vec![]),
            chart(&["a", "b"], vec![Series::new("x", vec![])]),
            chart(&[], vec![Series::new("x", vec![])]),
            chart(&["a", "b"], vec![Series::new("x", vec![f64::NAN, f64::INFINITY]), Series::new("y", vec![f64::NAN])]),
        ] {
            for svg in all(&c) {
                says_no_data(&svg);
            }
        }
        says_no_data(&hbars("t", "t", &[], ""));
        says_no_data(&hbars("t", "t", &[("a".into(), f64::NAN)], ""));
    }

    #[test]
    fn zeros_bad_numbers_and_negatives_still_draw() {
        let c = chart(&["a", "b", "c"], vec![Series::new("x", vec![0.0, 0.0, 0.0])]);
        for svg in all(&c) {
            assert_balanced(&svg);
            assert!(!svg.contains("No data"), "{svg}");
            assert!(svg.contains(">1</text>"), "the axis reaches 1: {svg}");
        }
        let c = chart(&["a", "b", "c", "d"], vec![Series::new("x", vec![1.0, f64::NAN, f64::NEG_INFINITY, -3.0])]);
        let svg = line(&c);
        assert_balanced(&svg);
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(svg.contains(">-3</text>"), "the axis goes below zero: {svg}");
        assert!(svg.contains("<title>x: 0</title>") || svg.contains("<title>b: 0</title>"), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        for svg in [bars(&c), stacked(&c)] {
            assert_balanced(&svg);
            assert!(!svg.contains(">-"), "bars clamp at 0: {svg}");
        }
        // Labels without series points, and points without labels.
        let c = chart(&[], vec![Series::new("x", vec![1.0, 2.0])]);
        assert!(line(&c).contains("<title>2: 2</title>"));
        let c = chart(&["a", "b", "c"], vec![Series::new("x", vec![5.0])]);
        assert_balanced(&bars(&c));
        assert_eq!(bar_heights(&bars(&c)).len(), 1);
    }

    #[test]
    fn one_label_is_centred() {
        let c = chart(&["only"], vec![Series::new("x", vec![4.0])]);
        let svg = line(&c);
        assert_balanced(&svg);
        let circle = tags(&svg, "<circle");
        assert_eq!(circle.len(), 1);
        assert!(!svg.contains("<polyline"));
        let cx = attr(circle[0], "cx");
        let left = attr(tags(&svg, "<line x1")[0], "x1");
        assert!((cx - (left + (WIDTH - RIGHT)) / 2.0).abs() < 0.2, "{svg}");
    }

    #[test]
    fn x_labels_are_thinned() {
        for n in [5, 10, 11, 30, 95, 101, 365] {
            let labels = days(n);
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let c = chart(&labels, vec![Series::new("x", vec![1.0; n])]);
            let svg = line(&c);
            assert_balanced(&svg);
            let start = svg.find(r#"<g class="chart-x""#).expect("x labels");
            let end = start + svg[start..].find("</g>").expect("closed");
            let shown = svg[start..end].matches("<text").count();
            assert!(shown <= MAX_X_LABELS && shown >= n.min(MAX_X_LABELS) / 2, "{n}: {shown}");
        }
    }

    #[test]
    fn long_labels_are_cut_with_the_full_text_in_a_tooltip() {
        let long = "A very long category name that goes on and on ".repeat(10);
        let series = vec![Series::new(long.clone(), vec![1.0, 2.0]), Series::new("y", vec![2.0, 1.0])];
        let c = chart(&[long.as_str(), "b"], series);
        for svg in all(&c) {
            assert_balanced(&svg);
            assert!(svg.contains('…'), "{svg}");
            assert!(svg.contains(&format!("<title>{}</title>", escape(&long))), "{svg}");
        }
        let wide = "很长的问题类别名称".repeat(20);
        let svg = hbars("t", "t", &[(wide.clone(), 1.0)], "");
        assert_balanced(&svg);
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{wide}: 1</title>")));
    }

    #[test]
    fn many_series_wrap_the_legend_and_cycle_colours() {
        let series: Vec<Series> =
            (0..40_i32).map(|k| Series::new(format!("Category number {k}"), vec![f64::from(k), 1.0])).collect();
        let c = chart(&["a", "b"], series);
        for svg in all(&c) {
            assert_balanced(&svg);
            assert!(svg.contains(">+"), "the legend says how many are left out: {svg}");
        }
        assert_eq!(colour(8), colour(0));
    }
}
