//! Business hours: when a team works, and due times that count only working time.
//!
//! Written the way care teams say it: `Mon-Fri 09:00-17:00 +01:00`, several parts separated
//! by commas (`Mon-Fri 08:00-18:00, Sat 10:00-14:00 UTC`), the offset once at the end
//! (`UTC`, `+01:00`, `-05:30`; default UTC). A fixed offset, not a time zone: a team that
//! follows daylight saving changes its offset twice a year (the time crate carries no zone
//! database, and one would cost more than it gives here).

use std::fmt;

use time::{Duration, OffsetDateTime, Time, UtcOffset, Weekday};

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// When a team works: per weekday (Monday first) the minutes of the day from start to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    days: [Option<(u16, u16)>; 7],
    offset: UtcOffset,
}

impl Default for BusinessHours {
    /// Round the clock.
    fn default() -> Self {
        BusinessHours {
            days: [Some((0, 24 * 60)); 7],
            offset: UtcOffset::UTC,
        }
    }
}

/// `Mon` or `monday`, any case.
fn day_index(name: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    DAYS.iter()
        .position(|(short, day)| name == *short || name == day.to_string().to_ascii_lowercase())
}

fn minutes(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0)) && hhmm.len() <= 5).then_some(h * 60 + m)
}

fn offset(text: &str) -> Option<UtcOffset> {
    if text.eq_ignore_ascii_case("utc") || text.eq_ignore_ascii_case("z") {
        return Some(UtcOffset::UTC);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = text[1..].split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    // Real offsets run from -12:00 to +14:00.
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

impl BusinessHours {
    /// Reads `Mon-Fri 09:00-17:00, Sat 10:00-14:00 +01:00`; says what is wrong and where.
    pub fn parse(spec: &str) -> Result<BusinessHours, String> {
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("always") {
            return Ok(BusinessHours::default());
        }
        let (body, offset) = match spec.rsplit_once(' ') {
            Some((body, last))
                if last.starts_with(['+', '-']) || last.eq_ignore_ascii_case("utc") =>
            {
                let o = offset(last).ok_or_else(|| {
                    format!("{last:?} is not an offset; write UTC, +01:00 or -05:30")
                })?;
                (body, o)
            }
            _ => (spec, UtcOffset::UTC),
        };
        let mut days = [None; 7];
        for part in body.split(',').map(str::trim) {
            let (which, span) = part.split_once(' ').ok_or_else(|| {
                format!("{part:?}: write days then hours, as in \"Mon-Fri 09:00-17:00\"")
            })?;
            let (from, to) = match which.split_once('-') {
                Some((a, b)) => (a, b),
                None => (which, which),
            };
            let unknown = |d: &str| format!("{d:?} is not a day; write Mon, Tue, … Sun");
            let from = day_index(from).ok_or_else(|| unknown(from))?;
            let to = day_index(to).ok_or_else(|| unknown(to))?;
            let (start, end) = span
                .trim()
                .split_once('-')
                .and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)))
                .ok_or_else(|| format!("{span:?}: write hours as 09:00-17:00"))?;
            if start >= end {
                return Err(format!("{span:?}: the day must end after it starts"));
            }
            // Mon-Fri, or around the week end: Fri-Mon.
            let mut d = from;
            loop {
                if days[d].is_some() {
                    return Err(format!("{part:?}: {} is given twice", DAYS[d].0));
                }
                days[d] = Some((start, end));
                if d == to {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        Ok(BusinessHours { days, offset })
    }

    /// The working hours of a weekday, as minutes of the day.
    fn on(&self, day: Weekday) -> Option<(u16, u16)> {
        self.days[day.number_days_from_monday() as usize]
    }

    /// The moment `work` of working time after `start` has passed. Round the clock when the
    /// team has no working day at all (nothing would ever be due otherwise).
    pub fn after(&self, start: OffsetDateTime, work: Duration) -> OffsetDateTime {
        if self.days.iter().all(Option::is_none) || work <= Duration::ZERO {
            return start + work.max(Duration::ZERO);
        }
        let mut at = start.to_offset(self.offset);
        let mut left = work;
        // A week without enough working time moves on a week; a year of weeks is plenty.
        for _ in 0..(366 * 8) {
            if let Some((open, close)) = self.on(at.weekday()) {
                let midnight = at.replace_time(Time::MIDNIGHT);
                let opens = midnight + Duration::minutes(open.into());
                let closes = midnight + Duration::minutes(close.into());
                if at < opens {
                    at = opens;
                }
                if at < closes {
                    let here = closes - at;
                    if left <= here {
                        return (at + left).to_offset(start.offset());
                    }
                    left -= here;
                }
            }
            at = at.replace_time(Time::MIDNIGHT) + Duration::DAY;
        }
        (start + work).to_offset(start.offset())
    }
}

impl fmt::Display for BusinessHours {
    /// The same text `parse` reads, days with equal hours grouped (`Mon-Fri 09:00-17:00 UTC`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == BusinessHours::default() {
            return f.write_str("always");
        }
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let mut parts = Vec::new();
        let mut d = 0;
        while d < 7 {
            let Some(span) = self.days[d] else {
                d += 1;
                continue;
            };
            let mut last = d;
            while last + 1 < 7 && self.days[last + 1] == Some(span) {
                last += 1;
            }
            let name = |i: usize| {
                let s = DAYS[i].0;
                format!("{}{}", s[..1].to_ascii_uppercase(), &s[1..])
            };
            let days = if last == d {
                name(d)
            } else {
                format!("{}-{}", name(d), name(last))
            };
            parts.push(format!("{days} {}-{}", hhmm(span.0), hhmm(span.1)));
            d = last + 1;
        }
        let offset = if self.offset == UtcOffset::UTC {
            "UTC".to_string()
        } else {
            let (h, m, _) = self.offset.as_hms();
            format!(
                "{}{:02}:{:02}",
                if self.offset.is_negative() { '-' } else { '+' },
                h.abs(),
                m.abs()
            )
        };
        write!(f, "{} {offset}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn hours(spec: &str) -> BusinessHours {
        BusinessHours::parse(spec).unwrap()
    }

    #[test]
    fn parses_what_teams_write_and_prints_it_back() {
        let h = hours("Mon-Fri 09:00-17:00, Sat 10:00-14:00 +01:00");
        assert_eq!(h.on(Weekday::Wednesday), Some((540, 1020)));
        assert_eq!(h.on(Weekday::Saturday), Some((600, 840)));
        assert_eq!(h.on(Weekday::Sunday), None);
        assert_eq!(h.to_string(), "Mon-Fri 09:00-17:00, Sat 10:00-14:00 +01:00");
        assert_eq!(hours(&h.to_string()), h);
        assert_eq!(hours("always"), BusinessHours::default());
        assert_eq!(hours("").to_string(), "always");
        assert_eq!(hours("mon-sun 00:00-24:00 UTC"), BusinessHours::default());
        assert_eq!(
            hours("Fri-Mon 10:00-12:00").to_string(),
            "Mon 10:00-12:00, Fri-Sun 10:00-12:00 UTC"
        );
        assert_eq!(
            hours("Tue 08:00-09:30 -05:30").to_string(),
            "Tue 08:00-09:30 -05:30"
        );
    }

    #[test]
    fn refuses_what_it_cannot_read_and_says_why() {
        for (bad, why) in [
            ("Mon-Fri", "days then hours"),
            ("Mon-Fry 09:00-17:00", "not a day"),
            ("Mon-Fri 9-17", "09:00-17:00"),
            ("Mon-Fri 17:00-09:00", "end after it starts"),
            ("Mon-Fri 09:00-25:00", "09:00-17:00"),
            ("Mon-Fri 09:00-17:00 +25:00", "not an offset"),
            ("Mon-Fri 09:00-17:00, Wed 10:00-11:00", "given twice"),
        ] {
            let err = BusinessHours::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn due_times_count_only_working_time() {
        let h = hours("Mon-Fri 09:00-17:00 UTC");
        // Friday 16:00 + 4 h: one hour on Friday, three on Monday.
        let friday = datetime!(2026-12-04 16:00 UTC);
        assert_eq!(
            h.after(friday, Duration::hours(4)),
            datetime!(2026-12-07 12:00 UTC)
        );
        // Before opening: the clock starts at 09:00.
        let early = datetime!(2026-12-07 06:30 UTC);
        assert_eq!(
            h.after(early, Duration::minutes(15)),
            datetime!(2026-12-07 09:15 UTC)
        );
        // Saturday: nothing counts until Monday.
        let saturday = datetime!(2026-12-05 12:00 UTC);
        assert_eq!(
            h.after(saturday, Duration::hours(8)),
            datetime!(2026-12-07 17:00 UTC)
        );
        // 24 working hours are three working days.
        assert_eq!(
            h.after(early, Duration::hours(24)),
            datetime!(2026-12-09 17:00 UTC)
        );
        // Round the clock is plain addition.
        let always = BusinessHours::default();
        assert_eq!(
            always.after(friday, Duration::hours(4)),
            datetime!(2026-12-04 20:00 UTC)
        );
    }

    #[test]
    fn offsets_shift_the_working_day_and_keep_the_callers_offset() {
        // 09:00-17:00 at +01:00 is 08:00-16:00 UTC.
        let h = hours("Mon-Fri 09:00-17:00 +01:00");
        let monday = datetime!(2026-12-07 07:00 UTC);
        let due = h.after(monday, Duration::hours(1));
        assert_eq!(due, datetime!(2026-12-07 09:00 UTC));
        assert_eq!(due.offset(), UtcOffset::UTC);
        // Late Friday UTC is already Saturday at +10:00: due on Monday there.
        let far = hours("Mon-Fri 09:00-17:00 +10:00");
        let friday_late = datetime!(2026-12-04 20:00 UTC);
        assert_eq!(
            far.after(friday_late, Duration::hours(1)),
            datetime!(2026-12-07 00:00 UTC)
        );
    }
}
