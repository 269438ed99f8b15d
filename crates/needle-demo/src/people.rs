//! Synthetic customers and the brand's own side of a conversation.
//!
//! A person is just (language, index): every attribute is derived from a hash of the pair, so the
//! same person has the same handle, name, city, e-mail and phone wherever they appear, which is
//! what identity resolution needs to find, without keeping any table in memory.

use crate::json;
use crate::templates::{Address, City, LANGS, Lang, Name, NameOrder, dial_code};

/// People per language in the benchmark stream, and the stride that keeps indices disjoint.
pub(crate) const PEOPLE_PER_LANG: u32 = 200_000;

/// SplitMix64 finaliser: a cheap, well-mixed hash for deriving attributes.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[derive(Clone, Copy)]
pub(crate) struct Person {
    pub lang: &'static Lang,
    /// Globally unique number (language stride + index); the author id is derived from it.
    pub num: u64,
    /// `idx` scrambled, then read as mixed-radix digits (given name, family name, handle style,
    /// handle number): distinct people of one language differ in at least one digit, so their
    /// handles differ, and low indices (the frequent writers) still get varied names.
    key: u64,
    hash: u64,
}

/// Handle shapes: `given_family`, `givenfamily`, `family_given`.
const HANDLE_STYLES: u64 = 3;

impl Person {
    pub(crate) fn new(lang_no: usize, idx: u32) -> Self {
        let local = u64::from(idx % PEOPLE_PER_LANG);
        let num = lang_no as u64 * u64::from(PEOPLE_PER_LANG) + local;
        // 7919 is coprime with PEOPLE_PER_LANG, so this permutes 0..PEOPLE_PER_LANG.
        let key = (local * 7_919 + 4_211) % u64::from(PEOPLE_PER_LANG);
        Person {
            lang: LANGS[lang_no].0,
            num,
            key,
            hash: mix(num ^ 0x5EED_0FAC_E000),
        }
    }

    pub(crate) fn given(&self) -> &'static Name {
        let g = self.lang.given;
        &g[(self.key % g.len() as u64) as usize]
    }

    pub(crate) fn family(&self) -> &'static Name {
        let (g, f) = (self.lang.given.len() as u64, self.lang.family);
        &f[(self.key / g % f.len() as u64) as usize]
    }

    /// (handle style, handle number) — the remaining mixed-radix digits of `key`.
    fn handle_digits(&self) -> (u64, u64) {
        let names = (self.lang.given.len() * self.lang.family.len()) as u64;
        let rest = self.key / names;
        (rest % HANDLE_STYLES, rest / HANDLE_STYLES)
    }

    pub(crate) fn city(&self) -> &'static City {
        let c = self.lang.cities;
        &c[((self.hash >> 32) % c.len() as u64) as usize]
    }

    /// The author id as the channel would report it.
    pub(crate) fn id(&self) -> u64 {
        10_000_000 + self.num
    }

    /// Heavy-tailed: most people have a few hundred followers, a few have hundreds of thousands.
    pub(crate) fn followers(&self) -> u64 {
        let u = ((self.hash >> 11) & 0xFFFF) as f64 / 65_536.0;
        10f64.powf(u * u * u * 6.0) as u64 + (self.hash >> 48) % 40
    }

    pub(crate) fn verified(&self) -> bool {
        self.followers() >= 100_000
    }

    /// How an agent addresses this person: the given name, the family name (Japanese) or the
    /// full name (Korean), as up to two pieces to push.
    pub(crate) fn address(&self) -> [&'static str; 2] {
        match self.lang.address {
            Address::Given => [self.given().display, ""],
            Address::Family => [self.family().display, ""],
            Address::Full => [self.family().display, self.given().display],
        }
    }

    pub(crate) fn push_name(&self, out: &mut String) {
        let (g, f) = (self.given().display, self.family().display);
        match self.lang.order {
            NameOrder::GivenFamily => {
                out.push_str(g);
                out.push(' ');
                out.push_str(f);
            }
            NameOrder::FamilyGiven => {
                out.push_str(f);
                out.push(' ');
                out.push_str(g);
            }
            NameOrder::FamilyGivenTight => {
                out.push_str(f);
                out.push_str(g);
            }
        }
    }

    /// A handle in one of a few common shapes, with a number when the name is taken.
    pub(crate) fn push_handle(&self, out: &mut String) {
        self.push_local_part(out, '_');
    }

    fn push_local_part(&self, out: &mut String, sep: char) {
        let (g, f) = (self.given().ascii, self.family().ascii);
        let (style, number) = self.handle_digits();
        match style {
            0 => {
                push_lower(out, g);
                out.push(sep);
                push_lower(out, f);
            }
            1 => {
                push_lower(out, g);
                push_lower(out, f);
            }
            _ => {
                push_lower(out, f);
                out.push(sep);
                push_lower(out, g);
            }
        }
        if number > 0 {
            json::push_u64(out, number);
        }
    }

    /// The handle with dots, on a reserved `.example` domain, so nothing can ever be sent to it.
    pub(crate) fn push_email(&self, out: &mut String) {
        self.push_local_part(out, '.');
        out.push('@');
        let d = self.lang.mail_domains;
        out.push_str(d[((self.hash >> 40) % d.len() as u64) as usize]);
    }

    /// E.164 number with the country's code and a 555 block; unique per person.
    pub(crate) fn push_phone(&self, out: &mut String) {
        out.push('+');
        out.push_str(dial_code(self.city().country));
        out.push_str("555");
        // An affine permutation of 0..10^7 (7919 is coprime with 10^7): unique per person.
        json::push_padded(out, (self.num * 7_919 + 1_234_567) % 10_000_000, 7);
    }
}

fn push_lower(out: &mut String, s: &str) {
    for c in s.chars() {
        out.push(c.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_stable_and_handles_unique() {
        let mut seen = std::collections::HashSet::new();
        for lang_no in 0..LANGS.len() {
            for idx in (0..PEOPLE_PER_LANG).step_by(11) {
                let p = Person::new(lang_no, idx);
                let mut h = String::new();
                p.push_handle(&mut h);
                assert!(
                    h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{h}"
                );
                assert!(seen.insert(h.clone()), "duplicate handle {h}");
                let mut again = String::new();
                Person::new(lang_no, idx).push_handle(&mut again);
                assert_eq!(h, again);
            }
        }
    }

    #[test]
    fn names_fit_the_language() {
        let ko = LANGS.iter().position(|(l, _)| l.code == "ko").unwrap();
        let mut name = String::new();
        Person::new(ko, 3).push_name(&mut name);
        assert!(
            name.chars().all(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)),
            "{name}"
        );
        let ar = LANGS.iter().position(|(l, _)| l.code == "ar").unwrap();
        name.clear();
        Person::new(ar, 3).push_name(&mut name);
        assert!(
            name.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
            "{name}"
        );
    }
}
