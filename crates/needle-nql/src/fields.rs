//! The fields of the spec (`author:`, `site:`, `rating:[1 TO 5]` …): their names, the values
//! each accepts, and how a value is checked against a message.

use crate::document::Fields;
use crate::syntax::{FieldValue, Span};

/// A field name the query language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    Author,
    Title,
    Language,
    Channel,
    Site,
    Url,
    Country,
    AuthorFollowers,
    AuthorVerified,
    Rating,
    EngagementType,
    Sentiment,
    Subreddit,
    /// A Brandwatch field Needle does not have: an error that names it.
    Unsupported,
}

/// Brandwatch fields that Needle does not have (lower case). A query using one is refused
/// with an error naming the field rather than silently matched as text.
const UNSUPPORTED: &[&str] = &[
    "authorgender",
    "authorverifiedtype",
    "blogname",
    "city",
    "continent",
    "engagingwith",
    "guid",
    "impact",
    "impressions",
    "insightsemoji",
    "insightshashtag",
    "insightsmentioned",
    "insightsurl",
    "links",
    "parentpostid",
    "pubtype",
    "reachestimate",
    "region",
    "rootblogname",
    "twitterauthorid",
    "twitterreplyto",
    "twitterretweetof",
    "twitterretweets",
    "twitterverified",
];

impl FieldName {
    /// The field called `name` (any case), if the language knows it.
    pub fn lookup(name: &str) -> Option<FieldName> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "author" => FieldName::Author,
            "title" => FieldName::Title,
            "language" | "lang" => FieldName::Language,
            "channel" => FieldName::Channel,
            "site" => FieldName::Site,
            "url" => FieldName::Url,
            "country" => FieldName::Country,
            "authorfollowers" => FieldName::AuthorFollowers,
            "authorverified" => FieldName::AuthorVerified,
            "rating" => FieldName::Rating,
            "engagementtype" => FieldName::EngagementType,
            "sentiment" => FieldName::Sentiment,
            "subreddit" => FieldName::Subreddit,
            other if UNSUPPORTED.contains(&other) => FieldName::Unsupported,
            _ => return None,
        })
    }
}

/// ISO 3166-1 alpha-2 and alpha-3 codes, five letters per country (from Debian's iso-codes).
const COUNTRIES: &str = "ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW AXALA AZAZE BABIH BBBRB BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN BOBOL BQBES BRBRA BSBHS BTBTN BVBVT BWBWA BYBLR BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG CHCHE CICIV CKCOK CLCHL CMCMR CNCHN COCOL CRCRI CUCUB CVCPV CWCUW CXCXR CYCYP CZCZE DEDEU DJDJI DKDNK DMDMA DODOM DZDZA ECECU EEEST EGEGY EHESH ERERI ESESP ETETH FIFIN FJFJI FKFLK FMFSM FOFRO FRFRA GAGAB GBGBR GDGRD GEGEO GFGUF GGGGY GHGHA GIGIB GLGRL GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD HNHND HRHRV HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD IOIOT IQIRQ IRIRN ISISL ITITA JEJEY JMJAM JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO LBLBN LCLCA LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA LYLBY MAMAR MCMCO MDMDA MEMNE MFMAF MGMDG MHMHL MKMKD MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ MRMRT MSMSR MTMLT MUMUS MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM NCNCL NENER NFNFK NGNGA NINIC NLNLD NONOR NPNPL NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG PHPHL PKPAK PLPOL PMSPM PNPCN PRPRI PSPSE PTPRT PWPLW PYPRY QAQAT REREU ROROU RSSRB RURUS RWRWA SASAU SBSLB SCSYC SDSDN SESWE SGSGP SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD STSTP SVSLV SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON TRTUR TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY UZUZB VAVAT VCVCT VEVEN VGVGB VIVIR VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE";

/// ISO 639-1 language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// The (alpha-2, alpha-3) pair of a country given by either code, any case. `UK` is
/// accepted for the United Kingdom, as people write it.
fn country(code: &str) -> Option<(&'static str, &'static str)> {
    let upper = code.to_ascii_uppercase();
    let upper = if upper == "UK" {
        "GB".to_string()
    } else {
        upper
    };
    COUNTRIES.split(' ').find_map(|entry| {
        let (a2, a3) = entry.split_at(2);
        (a2 == upper || a3 == upper).then_some((a2, a3))
    })
}

fn is_language(code: &str) -> bool {
    code.len() == 2 && LANGUAGES.split(' ').any(|l| l.eq_ignore_ascii_case(code))
}

/// A field condition, ready to check against a message.
#[derive(Debug, Clone)]
pub(crate) enum FieldPred {
    /// Lower case, without `@`.
    Author(String),
    /// The title must contain this phrase.
    Title(Box<crate::pattern::Leaf>),
    /// Lower case ISO 639-1.
    Language(String),
    /// Lower case.
    Channel(String),
    /// Lower-case host, and a path prefix when the value had one.
    Site {
        host: String,
        path: Option<String>,
    },
    /// Lower-case substring of the URL.
    Url(String),
    Country {
        alpha2: &'static str,
        alpha3: &'static str,
    },
    Followers {
        low: u64,
        high: u64,
    },
    Verified(bool),
    Rating {
        low: f64,
        high: f64,
    },
    /// Upper case.
    Engagement(&'static str),
    /// Lower case.
    Sentiment(&'static str),
    /// Lower case, without `r/`.
    Subreddit(String),
}

/// Why a field's value was refused: where, and a message for the analyst.
pub(crate) type Refusal = (Span, String);

/// The plain value of a field (a word or a quoted value), or a refusal naming the field.
fn single<'q>(
    query: &'q str,
    name: &str,
    value: &FieldValue,
    example: &str,
) -> Result<(&'q str, Span), Refusal> {
    match value {
        FieldValue::Word(s) | FieldValue::Quoted(s) if !s.text(query).trim().is_empty() => {
            Ok((s.text(query).trim(), *s))
        }
        FieldValue::Range { whole, .. } => Err((
            *whole,
            format!("{name}: takes a single value, not a range, as in {name}:{example}"),
        )),
        FieldValue::Word(s) | FieldValue::Quoted(s) => {
            Err((*s, format!("{name}: needs a value, as in {name}:{example}")))
        }
        FieldValue::Missing => Err((
            Span::default(),
            format!("{name}: needs a value, as in {name}:{example}"),
        )),
    }
}

/// Parses a number that is a whole number (`followers`) or a decimal (`rating`); `*` is an
/// open end in a range.
fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    if plain { text.parse().ok() } else { None }
}

/// `[low TO high]` or a single number, as inclusive bounds.
fn bounds<T: std::str::FromStr + PartialOrd + Copy>(
    query: &str,
    name: &str,
    value: &FieldValue,
    open: (T, T),
    example: &str,
) -> Result<(T, T), Refusal> {
    let bad = |span: Span, why: &str| Err((span, format!("{name}: {why}, as in {name}:{example}")));
    match value {
        FieldValue::Range {
            low,
            to,
            high,
            whole,
        } => {
            match to {
                Some(to) if to.text(query) == "TO" => {}
                Some(to) if to.text(query).eq_ignore_ascii_case("to") => {
                    return bad(*to, "write TO in capitals inside a range");
                }
                _ => return bad(*whole, "a range is written [low TO high]"),
            }
            let end = |span: &Span, open: T| -> Option<T> {
                let text = span.text(query);
                if text == "*" {
                    Some(open)
                } else {
                    number(text)
                }
            };
            let (Some(l), Some(h)) = (end(low, open.0), end(high, open.1)) else {
                return bad(*whole, "both ends of the range must be numbers");
            };
            if l > h {
                return bad(*whole, "the range's low end is above its high end");
            }
            Ok((l, h))
        }
        FieldValue::Word(s) | FieldValue::Quoted(s) => match number::<T>(s.text(query)) {
            Some(n) => Ok((n, n)),
            None => bad(*s, "needs a number"),
        },
        FieldValue::Missing => bad(Span::default(), "needs a value"),
    }
}

/// Checks the value of a known field and turns it into a condition. `title:` is built by the
/// caller (it is a phrase, compiled like text), so it is not handled here.
pub(crate) fn predicate(
    query: &str,
    field: FieldName,
    name: &str,
    value: &FieldValue,
) -> Result<FieldPred, Refusal> {
    let lower = |s: &str| s.to_lowercase();
    Ok(match field {
        FieldName::Author => {
            let (v, _) = single(query, name, value, "brandwatch")?;
            FieldPred::Author(lower(v.trim_start_matches('@')))
        }
        FieldName::Language => {
            let (v, span) = single(query, name, value, "en")?;
            if !is_language(v) {
                return Err((
                    span,
                    format!(
                        "{name}: needs a two-letter ISO 639-1 code such as en, de or ko, not {v:?}"
                    ),
                ));
            }
            FieldPred::Language(v.to_ascii_lowercase())
        }
        FieldName::Channel => {
            let (v, _) = single(query, name, value, "reddit")?;
            FieldPred::Channel(lower(v))
        }
        FieldName::Site => {
            let (v, _) = single(query, name, value, "reddit.com")?;
            let v = lower(v);
            let v = v
                .strip_prefix("https://")
                .or_else(|| v.strip_prefix("http://"))
                .unwrap_or(&v);
            let (host, path) = match v.split_once('/') {
                Some((h, p)) if !p.is_empty() => (h, Some(format!("/{p}"))),
                Some((h, _)) => (h, None),
                None => (v, None),
            };
            let host = host.strip_prefix("www.").unwrap_or(host);
            FieldPred::Site {
                host: host.to_string(),
                path,
            }
        }
        FieldName::Url => {
            let (v, _) = single(query, name, value, "youtube.com/watch")?;
            FieldPred::Url(lower(v))
        }
        FieldName::Country => {
            let (v, span) = single(query, name, value, "kr")?;
            let Some((alpha2, alpha3)) = country(v) else {
                return Err((
                    span,
                    format!("{name}: needs an ISO 3166 country code such as kr or kor, not {v:?}"),
                ));
            };
            FieldPred::Country { alpha2, alpha3 }
        }
        FieldName::AuthorFollowers => {
            let (low, high) = bounds(query, name, value, (0u64, u64::MAX), "[1000 TO 50000]")?;
            FieldPred::Followers { low, high }
        }
        FieldName::AuthorVerified => {
            let (v, span) = single(query, name, value, "true")?;
            match v.to_ascii_lowercase().as_str() {
                "true" => FieldPred::Verified(true),
                "false" => FieldPred::Verified(false),
                _ => {
                    return Err((span, format!("{name}: is true or false, not {v:?}")));
                }
            }
        }
        FieldName::Rating => {
            let (low, high) = bounds(query, name, value, (0f64, 5f64), "[1 TO 5]")?;
            if !(0.0..=5.0).contains(&low) || !(0.0..=5.0).contains(&high) {
                let span = match value {
                    FieldValue::Word(s) | FieldValue::Quoted(s) => *s,
                    FieldValue::Range { whole, .. } => *whole,
                    FieldValue::Missing => Span::default(),
                };
                return Err((span, format!("{name}: a rating is from 0 to 5")));
            }
            FieldPred::Rating { low, high }
        }
        FieldName::EngagementType => {
            let (v, span) = single(query, name, value, "REPLY")?;
            let kind = match v.to_ascii_uppercase().as_str() {
                "COMMENT" => "COMMENT",
                "REPLY" => "REPLY",
                "RETWEET" | "RESHARE" => "RETWEET",
                "QUOTE" => "QUOTE",
                _ => {
                    return Err((
                        span,
                        format!("{name}: is COMMENT, REPLY, RETWEET or QUOTE, not {v:?}"),
                    ));
                }
            };
            FieldPred::Engagement(kind)
        }
        FieldName::Sentiment => {
            let (v, span) = single(query, name, value, "negative")?;
            let label = match v.to_ascii_lowercase().as_str() {
                "positive" => "positive",
                "negative" => "negative",
                "neutral" => "neutral",
                _ => {
                    return Err((
                        span,
                        format!("{name}: is positive, negative or neutral, not {v:?}"),
                    ));
                }
            };
            FieldPred::Sentiment(label)
        }
        FieldName::Subreddit => {
            let (v, _) = single(query, name, value, "rust")?;
            let v = lower(v);
            let v = v.strip_prefix("/").unwrap_or(&v);
            let v = v.strip_prefix("r/").unwrap_or(v);
            FieldPred::Subreddit(v.to_string())
        }
        FieldName::Title | FieldName::Unsupported => {
            // The caller builds titles and refuses unsupported fields before coming here.
            return Err((Span::default(), format!("{name}: cannot be used here")));
        }
    })
}

/// The host of a URL (lower case, no port), or the value itself when it is a bare host.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    rest.split(':').next().unwrap_or(rest)
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

/// `host` is `domain` or one of its subdomains.
fn host_matches(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.len() >= domain.len()
        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
        && (host.len() == domain.len() || host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn contains_ignore_case(haystack: &str, lower_needle: &str) -> bool {
    if haystack.is_ascii() && lower_needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), lower_needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(lower_needle)
}

impl FieldPred {
    /// Whether a message's fields satisfy the condition (a title is checked by the caller).
    pub(crate) fn holds(&self, fields: &Fields<'_>) -> bool {
        let eq = |have: Option<&str>, want: &str| {
            have.is_some_and(|h| {
                h.eq_ignore_ascii_case(want) || (!h.is_ascii() && h.to_lowercase() == want)
            })
        };
        match self {
            FieldPred::Author(a) => eq(fields.author.map(|h| h.trim_start_matches('@')), a),
            FieldPred::Title(_) => false,
            FieldPred::Language(l) => fields.language.is_some_and(|have| {
                have.split(['-', '_'])
                    .next()
                    .is_some_and(|p| p.eq_ignore_ascii_case(l))
            }),
            FieldPred::Channel(c) => eq(fields.channel, c),
            FieldPred::Site { host, path } => {
                [fields.url, fields.site].into_iter().flatten().any(|u| {
                    host_matches(host_of(u), host)
                        && path
                            .as_deref()
                            .is_none_or(|p| path_of(u).to_lowercase().starts_with(p))
                })
            }
            FieldPred::Url(u) => fields.url.is_some_and(|have| contains_ignore_case(have, u)),
            FieldPred::Country { alpha2, alpha3 } => [fields.country, fields.author_country]
                .into_iter()
                .flatten()
                .any(|c| c.eq_ignore_ascii_case(alpha2) || c.eq_ignore_ascii_case(alpha3)),
            FieldPred::Followers { low, high } => fields
                .author_followers
                .is_some_and(|f| (*low..=*high).contains(&f)),
            FieldPred::Verified(v) => fields.author_verified == Some(*v),
            FieldPred::Rating { low, high } => {
                fields.rating.is_some_and(|r| r >= *low && r <= *high)
            }
            FieldPred::Engagement(e) => {
                eq(fields.engagement_type, e)
                    || (*e == "RETWEET" && eq(fields.engagement_type, "reshare"))
            }
            FieldPred::Sentiment(s) => eq(fields.sentiment, s),
            FieldPred::Subreddit(s) => eq(
                fields.subreddit.map(|r| {
                    let r = r.strip_prefix('/').unwrap_or(r);
                    r.strip_prefix("r/").unwrap_or(r)
                }),
                s,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_in_both_forms() {
        assert_eq!(country("kr"), Some(("KR", "KOR")));
        assert_eq!(country("KOR"), Some(("KR", "KOR")));
        assert_eq!(country("uk"), Some(("GB", "GBR")));
        assert_eq!(country("xx"), None);
        assert_eq!(COUNTRIES.split(' ').count(), 249);
    }

    #[test]
    fn languages_are_iso_639_1() {
        assert!(is_language("en") && is_language("KO") && is_language("de"));
        assert!(!is_language("english") && !is_language("xx"));
    }

    #[test]
    fn hosts_match_subdomains_only_at_a_dot() {
        assert!(host_matches("www.reddit.com", "reddit.com"));
        assert!(host_matches("reddit.com", "reddit.com"));
        assert!(!host_matches("notreddit.com", "reddit.com"));
        assert_eq!(
            host_of("https://user@www.Reddit.com:443/r/x?q=1"),
            "www.Reddit.com"
        );
        assert_eq!(path_of("https://www.reddit.com/r/x"), "/r/x");
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(number::<u64>("1000"), Some(1000));
        assert_eq!(number::<f64>("4.5"), Some(4.5));
        assert_eq!(number::<u64>("-1"), None);
        assert_eq!(number::<f64>("1e3"), None);
        assert_eq!(number::<f64>("NaN"), None);
    }
}
