//! Charts drawn on the server as inline SVG: a topic's volume (stacked by sentiment) and its
//! mean sentiment over time, and a sparkline for lists. No script and no chart library: the
//! numbers are few (at most a few hundred buckets) and the page stays readable without
//! JavaScript. Every mark carries a `<title>` (a tooltip, and its name for screen readers),
//! and each chart comes with the same numbers as a table.

use maud::{Markup, html};
use time::OffsetDateTime;

use crate::topics::Series;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room on the left for the axis labels, and at the bottom for the dates.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

fn when(series: &Series, index: usize) -> String {
    let start: OffsetDateTime = series.bucket_start(index);
    let date = start.date();
    if series.bucket_name() == "hour" {
        format!("{date} {:02}:00", start.hour())
    } else {
        date.to_string()
    }
}

/// A round number at or above `n`, for the top of the volume axis.
fn axis_top(n: u64) -> u64 {
    let n = n.max(1);
    let magnitude = 10u64.pow(n.ilog10());
    [1, 2, 5, 10]
        .iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= n)
        .unwrap_or(n)
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

/// Messages per bucket, each bar split into negative, neutral, positive and unclassified.
pub fn volume(series: &Series, label: &str) -> Markup {
    let n = series.buckets.len().max(1);
    let top = axis_top(series.buckets.iter().map(|b| b.messages).max().unwrap_or(0));
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.8).max(1.0);
    let y_of = |count: u64| TOP + plot_h - plot_h * count as f64 / top as f64;
    let total = series.total().messages;
    // Per non-empty bucket: its left edge and its parts, bottom up.
    let bars: Vec<_> = series
        .buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.messages > 0)
        .map(|(i, b)| {
            let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
            let mut below = 0;
            let mut parts = Vec::new();
            for (class, count) in [
                ("neg", b.negative),
                ("neu", b.neutral()),
                ("pos", b.positive),
                ("unk", b.messages.saturating_sub(b.classified)),
            ] {
                if count > 0 {
                    let y = y_of(below + count);
                    parts.push((class, y, y_of(below) - y));
                    below += count;
                }
            }
            (i, b, x, parts)
        })
        .collect();
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
            aria-label={ (label) ": " (total) " messages from " (when(series, 0)) " to " (when(series, n - 1)) } {
            line.axis x1=(LEFT) x2=(WIDTH) y1=(fmt(TOP + plot_h)) y2=(fmt(TOP + plot_h)) {}
            text.tick x=(LEFT - 6.0) y=(TOP + 8.0) text-anchor="end" { (top) }
            text.tick x=(LEFT - 6.0) y=(fmt(TOP + plot_h)) text-anchor="end" { "0" }
            @for (i, b, x, parts) in &bars {
                g {
                    title {
                        (when(series, *i)) ": " (messages(b.messages)) " ("
                        (b.negative) " negative, " (b.neutral()) " neutral, " (b.positive) " positive"
                        @if b.classified < b.messages { ", " (b.messages - b.classified) " not classified" }
                        ")"
                    }
                    @for (class, y, h) in parts {
                        rect class=(class) x=(fmt(*x)) width=(fmt(bar)) y=(fmt(*y)) height=(fmt(*h)) {}
                    }
                }
            }
            (date_ticks(series, slot))
        }
    }
}

/// The first, middle and last bucket's dates under the plot.
fn date_ticks(series: &Series, slot: f64) -> Markup {
    let n = series.buckets.len();
    let mut ticks = vec![0, n / 2, n.saturating_sub(1)];
    ticks.dedup();
    let last = n.saturating_sub(1);
    html! {
        @for i in ticks {
            // The ends align to the plot's edges so that no label is cut off.
            @let (x, anchor) = if i == 0 && n > 1 {
                (LEFT, "start")
            } else if i == last && n > 1 {
                (WIDTH, "end")
            } else {
                (LEFT + slot * (i as f64 + 0.5), "middle")
            };
            text.tick x=(fmt(x)) y=(HEIGHT - 6.0) text-anchor=(anchor) { (when(series, i)) }
        }
    }
}

/// Mean sentiment per bucket on a scale from −1 to 1; buckets without sentiment are gaps.
pub fn sentiment(series: &Series, label: &str) -> Markup {
    let n = series.buckets.len().max(1);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_of = |s: f64| TOP + plot_h * (1.0 - s.clamp(-1.0, 1.0)) / 2.0;
    let mut path = String::new();
    let mut pen_down = false;
    for (i, b) in series.buckets.iter().enumerate() {
        match b.mean_sentiment() {
            Some(s) => {
                path.push_str(if pen_down { " L" } else { " M" });
                path.push_str(&format!("{} {}", fmt(x_of(i)), fmt(y_of(s))));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let overall = series.total().mean_sentiment();
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
            aria-label={ (label) ": mean sentiment "
                @match overall { Some(s) => (format!("{s:+.2}")), None => "unknown" }
                " over the window" } {
            line.axis x1=(LEFT) x2=(WIDTH) y1=(fmt(y_of(0.0))) y2=(fmt(y_of(0.0))) {}
            text.tick x=(LEFT - 6.0) y=(fmt(y_of(1.0) + 8.0)) text-anchor="end" { "+1" }
            text.tick x=(LEFT - 6.0) y=(fmt(y_of(0.0) + 4.0)) text-anchor="end" { "0" }
            text.tick x=(LEFT - 6.0) y=(fmt(y_of(-1.0))) text-anchor="end" { "−1" }
            @if !path.is_empty() { path.line d=(path.trim()) {} }
            @for (i, b) in series.buckets.iter().enumerate() {
                @if let Some(s) = b.mean_sentiment() {
                    circle class=(if s < -0.05 { "neg" } else if s > 0.05 { "pos" } else { "neu" })
                        cx=(fmt(x_of(i))) cy=(fmt(y_of(s))) r="3" {
                        title { (when(series, i)) ": mean sentiment " (format!("{s:+.2}")) " over " (messages(b.classified)) }
                    }
                }
            }
            (date_ticks(series, slot))
        }
    }
}

/// A small volume chart for lists: one bar per bucket, no axes.
pub fn sparkline(series: &Series, label: &str) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    let n = series.buckets.len().max(1);
    let max = series
        .buckets
        .iter()
        .map(|b| b.messages)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = W / n as f64;
    let total = series.total().messages;
    html! {
        svg.spark viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H) role="img"
            aria-label={ (label) ": " (total) " messages" } {
            @for (i, b) in series.buckets.iter().enumerate() {
                @if b.messages > 0 {
                    @let h = (H * b.messages as f64 / max as f64).max(1.0);
                    rect x=(fmt(slot * i as f64)) width=(fmt((slot * 0.8).max(0.5))) y=(fmt(H - h)) height=(fmt(h)) {
                        title { (when(series, i)) ": " (b.messages) }
                    }
                }
            }
        }
    }
}

/// The numbers behind both charts, for screen readers and for copying.
pub fn table(series: &Series) -> Markup {
    html! {
        details.numbers {
            summary { "The numbers" }
            table {
                thead { tr {
                    th scope="col" { (if series.bucket_name() == "hour" { "Hour (UTC)" } else { "Day (UTC)" }) }
                    th scope="col" { "Messages" } th scope="col" { "Negative" }
                    th scope="col" { "Neutral" } th scope="col" { "Positive" }
                    th scope="col" { "Mean sentiment" }
                } }
                tbody {
                    @for (i, b) in series.buckets.iter().enumerate() {
                        tr {
                            th scope="row" { (when(series, i)) }
                            td { (b.messages) } td { (b.negative) } td { (b.neutral()) } td { (b.positive) }
                            td { @match b.mean_sentiment() { Some(s) => (format!("{s:+.2}")), None => "–" } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use needle_store::topics::SeriesBucket;
    use time::macros::datetime;

    fn series(counts: &[(u64, u64, u64)]) -> Series {
        Series {
            since: datetime!(2026-10-01 0:00 UTC),
            bucket: time::Duration::DAY,
            buckets: counts
                .iter()
                .enumerate()
                .map(|(i, &(messages, positive, negative))| SeriesBucket {
                    index: i as i64,
                    messages,
                    positive,
                    negative,
                    classified: messages,
                    sentiment_sum: positive as f64 * 0.5 - negative as f64 * 0.5,
                })
                .collect(),
        }
    }

    #[test]
    fn axis_tops_are_round_and_not_below_the_data() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(200), 200);
        assert_eq!(axis_top(4_001), 5_000);
    }

    #[test]
    fn volume_bars_stack_to_the_bucket_total() {
        let s = series(&[(0, 0, 0), (10, 4, 6), (5, 5, 0)]);
        let svg = volume(&s, "office").into_string();
        // Bucket 1 has two parts (positive, negative) and bucket 2 one; empty buckets none.
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("2026-10-02: 10 messages (6 negative, 0 neutral, 4 positive)"));
        assert!(svg.contains("aria-label=\"office: 15 messages from 2026-10-01 to 2026-10-03\""));
        // The axis top is 10, so bucket 1's full bar reaches the top of the plot.
        assert!(svg.contains(&format!("y=\"{}\"", fmt(TOP))), "{svg}");
    }

    #[test]
    fn sentiment_line_breaks_at_buckets_without_sentiment() {
        let s = series(&[(2, 2, 0), (0, 0, 0), (2, 0, 2), (2, 1, 1)]);
        let svg = sentiment(&s, "office").into_string();
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(d.matches('M').count(), 2, "a gap starts a new segment: {d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("mean sentiment +0.50"), "{svg}");
    }

    #[test]
    fn labels_are_escaped() {
        let s = series(&[(1, 1, 0)]);
        let svg = sparkline(&s, "<script>x</script>").into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}
