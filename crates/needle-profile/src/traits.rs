//! Traits: what sources say about a person (name, country, tier, lifetime value, consent),
//! kept per identity and per source, and resolved into one value per profile by a per-trait
//! survivorship strategy. Keeping the values where they came from, not a merged record, is
//! what lets an unmerge hand each side back exactly its own values.
//!
//! Computed traits ([`Activity`]) are counters kept per identity as messages arrive: first
//! and last seen, messages per channel, daily sentiment sums for the last days. A profile's
//! computed traits add up its identities' counters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How conflicting values of one trait resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The value set last.
    MostRecent,
    /// The value set first.
    FirstSeen,
    /// A trusted source's value (most recent among them), else the most recent of any.
    TrustedFirst,
    /// The largest number.
    Max,
    /// The sum of the numbers (one value per identity and source).
    Sum,
}

/// One source's value of one trait on one identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitValue {
    pub name: String,
    pub value: Value,
    /// `crm:customers.csv`, `message:mastodon`, `agent:kim`.
    pub source: String,
    pub trusted: bool,
    /// Microseconds since the epoch.
    pub at: i64,
}

/// Resolves one trait's values (from every identity of a profile) by `strategy`.
pub fn resolve<'a>(strategy: Strategy, values: &[&'a TraitValue]) -> Option<Value> {
    let latest = |vs: &mut dyn Iterator<Item = &&'a TraitValue>| {
        vs.max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.source.cmp(&b.source)))
            .map(|v| v.value.clone())
    };
    match strategy {
        Strategy::MostRecent => latest(&mut values.iter()),
        Strategy::FirstSeen => values
            .iter()
            .min_by(|a, b| a.at.cmp(&b.at).then_with(|| a.source.cmp(&b.source)))
            .map(|v| v.value.clone()),
        Strategy::TrustedFirst => {
            latest(&mut values.iter().filter(|v| v.trusted)).or_else(|| latest(&mut values.iter()))
        }
        Strategy::Max => values
            .iter()
            .filter_map(|v| v.value.as_f64())
            .reduce(f64::max)
            .map(number),
        Strategy::Sum => {
            let numbers: Vec<f64> = values.iter().filter_map(|v| v.value.as_f64()).collect();
            (!numbers.is_empty()).then(|| number(numbers.iter().sum()))
        }
    }
}

fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;
/// How many days of sentiment an identity keeps: enough for "the last 30 days".
pub const SENTIMENT_DAYS: i64 = 31;

/// Counters kept per identity as its messages arrive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    /// Messages per channel.
    pub messages: BTreeMap<String, u64>,
    /// Last contact we made (an outbound message).
    pub last_contact: Option<i64>,
    /// (day number, sum of scores, count) for days with known sentiment, oldest first,
    /// at most [`SENTIMENT_DAYS`] days back from the newest.
    pub sentiment_days: Vec<(i64, f64, u32)>,
}

impl Activity {
    /// Counts one message at `at`, inbound or outbound, with its sentiment when known.
    pub fn record(&mut self, channel: &str, at: i64, outbound: bool, sentiment: Option<f32>) {
        self.first_seen = Some(self.first_seen.map_or(at, |t| t.min(at)));
        self.last_seen = Some(self.last_seen.map_or(at, |t| t.max(at)));
        match self.messages.get_mut(channel) {
            Some(n) => *n += 1,
            None => {
                self.messages.insert(channel.to_string(), 1);
            }
        }
        if outbound {
            self.last_contact = Some(self.last_contact.map_or(at, |t| t.max(at)));
        }
        if let Some(score) = sentiment.filter(|s| s.is_finite()) {
            let day = at.div_euclid(DAY_US);
            match self.sentiment_days.binary_search_by_key(&day, |d| d.0) {
                Ok(i) => {
                    self.sentiment_days[i].1 += f64::from(score);
                    self.sentiment_days[i].2 += 1;
                }
                Err(i) => self.sentiment_days.insert(i, (day, f64::from(score), 1)),
            }
            let newest = self.sentiment_days.last().map_or(day, |d| d.0);
            self.sentiment_days
                .retain(|d| d.0 > newest - SENTIMENT_DAYS);
        }
    }

    /// Adds another identity's counters into this one (for a profile's totals).
    pub fn absorb(&mut self, other: &Activity) {
        let min = |a: Option<i64>, b: Option<i64>| a.into_iter().chain(b).min();
        let max = |a: Option<i64>, b: Option<i64>| a.into_iter().chain(b).max();
        self.first_seen = min(self.first_seen, other.first_seen);
        self.last_seen = max(self.last_seen, other.last_seen);
        self.last_contact = max(self.last_contact, other.last_contact);
        for (channel, n) in &other.messages {
            *self.messages.entry(channel.clone()).or_default() += n;
        }
        for &(day, sum, n) in &other.sentiment_days {
            match self.sentiment_days.binary_search_by_key(&day, |d| d.0) {
                Ok(i) => {
                    self.sentiment_days[i].1 += sum;
                    self.sentiment_days[i].2 += n;
                }
                Err(i) => self.sentiment_days.insert(i, (day, sum, n)),
            }
        }
    }

    /// Average sentiment of messages from the `days` days up to `now`; `None` when none of
    /// them had a known sentiment.
    pub fn average_sentiment(&self, now: i64, days: i64) -> Option<f64> {
        let today = now.div_euclid(DAY_US);
        let (sum, n) = self
            .sentiment_days
            .iter()
            .filter(|d| d.0 > today - days && d.0 <= today)
            .fold((0.0, 0u32), |(s, n), d| (s + d.1, n + d.2));
        (n > 0).then(|| sum / f64::from(n))
    }

    pub fn total_messages(&self) -> u64 {
        self.messages.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(value: Value, source: &str, trusted: bool, at: i64) -> TraitValue {
        TraitValue {
            name: "t".into(),
            value,
            source: source.into(),
            trusted,
            at,
        }
    }

    #[test]
    fn each_strategy_picks_its_winner() {
        let crm_old = v(json!("DE"), "crm", true, 10);
        let post_new = v(json!("FR"), "message:mastodon", false, 30);
        let crm_new = v(json!("AT"), "crm2", true, 20);
        let all = [&crm_old, &post_new, &crm_new];
        assert_eq!(resolve(Strategy::MostRecent, &all), Some(json!("FR")));
        assert_eq!(resolve(Strategy::FirstSeen, &all), Some(json!("DE")));
        assert_eq!(resolve(Strategy::TrustedFirst, &all), Some(json!("AT")));
        assert_eq!(
            resolve(Strategy::TrustedFirst, &[&post_new]),
            Some(json!("FR"))
        );
        let a = v(json!(120.5), "crm", true, 1);
        let b = v(json!(600), "shop", true, 2);
        let c = v(json!("n/a"), "x", true, 3);
        assert_eq!(resolve(Strategy::Max, &[&a, &b, &c]), Some(json!(600)));
        assert_eq!(resolve(Strategy::Sum, &[&a, &b, &c]), Some(json!(720.5)));
        assert_eq!(resolve(Strategy::Sum, &[&c]), None);
        assert_eq!(resolve(Strategy::MostRecent, &[]), None);
    }

    #[test]
    fn activity_counts_and_averages_recent_sentiment() {
        let day = DAY_US;
        let mut a = Activity::default();
        a.record("email", 40 * day, false, Some(-1.0));
        a.record("email", 5 * day, false, Some(1.0));
        a.record("mastodon", 39 * day, false, Some(-0.5));
        a.record("email", 41 * day, true, None);
        assert_eq!(a.first_seen, Some(5 * day));
        assert_eq!(a.last_seen, Some(41 * day));
        assert_eq!(a.last_contact, Some(41 * day));
        assert_eq!(a.messages["email"], 3);
        assert_eq!(a.total_messages(), 4);
        // Day 5 fell out of the 31-day window kept.
        assert_eq!(a.sentiment_days.len(), 2);
        assert_eq!(a.average_sentiment(41 * day, 30), Some(-0.75));
        assert_eq!(a.average_sentiment(41 * day, 2), Some(-1.0));
        assert_eq!(a.average_sentiment(80 * day, 30), None);
        let mut b = Activity::default();
        b.record("sms", 40 * day, false, Some(0.5));
        b.absorb(&a);
        assert_eq!(b.total_messages(), 5);
        assert_eq!(b.average_sentiment(41 * day, 30), Some(-1.0 / 3.0));
    }
}
