//! Random choices shared by the demo and the benchmark: who starts a thread, where, about what.

use fastrand::Rng;

use crate::message::Channel;
use crate::people::Person;
use crate::templates::{Intent, LANGS};
use crate::text::pick;

/// Index into `weights`, chosen with probability proportional to its weight.
pub(crate) fn weighted(rng: &mut Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut r = rng.u32(..total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

fn lang_weights() -> [u32; LANGS.len()] {
    let mut w = [0; LANGS.len()];
    for (slot, (_, weight)) in w.iter_mut().zip(LANGS.iter()) {
        *slot = *weight;
    }
    w
}

/// The first message of a thread, before any text is written.
#[derive(Clone, Copy)]
pub(crate) struct Opening {
    pub channel: Channel,
    pub intent: Intent,
    pub person: Person,
    /// Whether the author's e-mail / phone is known on this message.
    pub email: bool,
    pub phone: bool,
    pub subreddit: Option<&'static str>,
}

/// Picks language, channel, intent and author. `people(lang_no)` is how many distinct people
/// that language has; low indices are picked more often, so some people write repeatedly and on
/// several channels, as real customers do.
pub(crate) fn opening(rng: &mut Rng, people: impl Fn(usize) -> u32) -> Opening {
    let lang_no = weighted(rng, &lang_weights());
    let channel = Channel::ALL[weighted(rng, &Channel::WEIGHTS)];
    let intent = Intent::ALL[weighted(rng, &Intent::WEIGHTS)];
    let intent = fit_intent(rng, channel, intent);
    let pool = people(lang_no).max(1);
    let idx = rng.u32(..pool).min(rng.u32(..pool));
    let person = Person::new(lang_no, idx);
    let email = channel == Channel::Email || (channel == Channel::Chat && rng.u8(..10) < 3);
    let phone = channel == Channel::Chat && rng.u8(..10) < 4;
    let subreddit = (channel == Channel::Reddit).then(|| pick(rng, person.lang.subreddits));
    Opening {
        channel,
        intent,
        person,
        email,
        phone,
        subreddit,
    }
}

/// Keeps intents plausible for the channel: nobody reviews a product with a sales question,
/// and nobody e-mails support to chat about a competitor.
fn fit_intent(rng: &mut Rng, channel: Channel, intent: Intent) -> Intent {
    match (channel, intent) {
        (Channel::Review, Intent::Question | Intent::Purchase | Intent::Chatter) => {
            if rng.bool() {
                Intent::Praise
            } else {
                Intent::Complaint
            }
        }
        (Channel::Email | Channel::Chat, Intent::Chatter) => Intent::Question,
        _ => intent,
    }
}

/// Star rating that matches what the review says.
pub(crate) fn rating(rng: &mut Rng, intent: Intent) -> u8 {
    match intent {
        Intent::Complaint | Intent::Refund | Intent::Shipping | Intent::Crisis => rng.u8(1..=2),
        Intent::Praise => rng.u8(4..=5),
        Intent::Spam => 5,
        Intent::Question => 3,
        Intent::Purchase | Intent::Chatter => rng.u8(3..=4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_follows_weights() {
        let mut rng = Rng::with_seed(3);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[weighted(&mut rng, &[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > counts[0] * 3 / 2, "{counts:?}");
    }
}
