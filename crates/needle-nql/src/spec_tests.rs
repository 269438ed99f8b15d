//! Every example of `shared/specs/query-language.md`, in the spec's order, plus the
//! multilingual and hostile inputs the matcher must survive.

use crate::{Document, Fields, compile, lint};

/// Whether `query` (which must compile) matches `text`.
fn m(query: &str, text: &str) -> bool {
    let q = compile(query).unwrap_or_else(|r| panic!("{query:?} does not compile: {r:?}"));
    q.is_match(&Document::from_text(text))
}

fn mf(query: &str, fields: Fields<'_>) -> bool {
    let q = compile(query).unwrap_or_else(|r| panic!("{query:?} does not compile: {r:?}"));
    q.is_match(&Document::new("", None, fields))
}

fn error_codes(query: &str) -> Vec<&'static str> {
    lint(query).errors.iter().map(|d| d.code).collect()
}

fn warning_codes(query: &str) -> Vec<&'static str> {
    lint(query).warnings.iter().map(|d| d.code).collect()
}

mod text_model {
    use super::*;

    #[test]
    fn apostrophes_and_hyphens_split_words() {
        assert!(m("oréal", "I love L'Oréal"));
        assert!(m("L'Oréal", "l'oréal is French"));
        assert!(m("l", "L'Oréal"));
        assert!(m("e-mail", "send me an e-mail"));
        assert!(m("e-mail", "send me an E mail"));
        assert!(m("mail", "send me an e-mail"));
        assert!(!m("e-mail", "send me an email"));
    }

    #[test]
    fn a_change_of_script_splits() {
        assert!(m("sprinklr", "Sprinklr에서 일했어요"));
        assert!(m("에서", "Sprinklr에서 일했어요"));
        assert!(m("Sprinklr에서", "저는 Sprinklr에서 일했어요"));
        assert!(m("acme", "اشتريت Acmeهاتف"));
    }

    #[test]
    fn unspaced_scripts_match_as_phrases_of_characters() {
        assert!(m("周受资", "CEO周受资表示"));
        assert!(m("ceo", "CEO周受资表示"));
        assert!(!m("周资", "CEO周受资表示"));
        assert!(m("\"周受资\" NEAR/0f 表示", "CEO周受资表示"));
        assert!(m("ソニー", "ソニーの新製品"));
        assert!(m("สวัสดี", "สวัสดีครับ"));
    }

    #[test]
    fn tags_and_handles_keep_their_prefix() {
        assert!(m("#acme", "love #acme"));
        assert!(!m("#acme", "love acme"));
        assert!(m("@acme", "thanks @acme"));
        assert!(!m("@acme", "thanks acme"));
        assert!(!m("#acme", "thanks @acme"));
    }

    #[test]
    fn emoji_is_a_token_and_digits_stay_inside_words() {
        assert!(m("🔥", "this is 🔥🔥"));
        assert!(m("🔥 NEAR/0 🔥", "this is 🔥🔥"));
        assert!(!m("🔥", "this is fire"));
        assert!(m("o365", "O365 is down"));
        assert!(m("gpt4", "GPT4 is here"));
        assert!(!m("o365", "o 365"));
    }

    #[test]
    fn positions_count_tokens() {
        assert!(m("apple NEAR/0 pie", "apple pie"));
        assert!(m("apple NEAR/1 pie", "apple-berry pie"));
        assert!(!m("apple NEAR/0 pie", "apple-berry pie"));
    }

    #[test]
    fn sentences_end_at_stops_marks_and_line_breaks() {
        for text in [
            "apple. pie",
            "apple! pie",
            "apple? pie",
            "apple。pie",
            "apple؟ pie",
            "apple\npie",
        ] {
            assert!(!m("apple SENTENCE pie", text), "{text:?}");
            assert!(m("apple NEAR/0 pie", text), "{text:?}");
        }
        assert!(m("apple SENTENCE pie", "apple and a pie"));
        assert!(m("apple SENTENCE pie", "see acme.com apple and pie"));
    }

    #[test]
    fn case_is_ignored_unless_asked_for() {
        assert!(m("apple", "APPLE Apple"));
        assert!(m("APPLE", "apple"));
        assert!(m("{Apple}", "Apple"));
        assert!(!m("{Apple}", "apple APPLE"));
    }

    #[test]
    fn accents_without_match_both_with_match_only_that_form() {
        assert!(m("nino", "el niño"));
        assert!(m("nino", "el nino"));
        assert!(m("niño", "el Niño"));
        assert!(!m("niño", "el nino"));
        assert!(m("ecole", "ÉCOLE"));
        assert!(m("école", "ÉCOLE"));
        assert!(!m("école", "ecole"));
        // NFKD: compatibility forms fold too.
        assert!(m("fine", "ﬁne"));
    }

    #[test]
    fn plain_words_match_the_hashtag_and_the_mention() {
        assert!(m("tag", "#tag"));
        assert!(m("tag", "a tag"));
        assert!(m("tag", "@Tag"));
        assert!(m("handle", "@handle"));
        assert!(!m("@handle", "#handle"));
        assert!(m("\"love acme\"", "love #acme"));
    }

    #[test]
    fn accented_query_words_match_any_normalization_form() {
        // NFC query, NFD text and the other way round.
        assert!(m("école", "une e\u{301}cole"));
        assert!(m("e\u{301}cole", "une école"));
        assert!(m("ÉCOLE", "E\u{301}COLE"));
        assert!(!m("e\u{301}cole", "une ecole"));
        assert!(m("écol*", "E\u{301}COLES"));
        assert!(!m("écol*", "ecoles"));
    }

    #[test]
    fn compatibility_forms_and_emoji_variants_are_not_accents() {
        assert!(m("ﬁne", "fine"));
        assert!(m("ﬁne", "ﬁne"));
        assert!(m("Ｏｆｆｉｃｅ", "my office"));
        assert!(m("office", "my Ｏｆｆｉｃｅ"));
        assert!(m("❤", "I ❤\u{FE0F} it"));
        assert!(m("❤\u{FE0F}", "I ❤ it"));
        assert!(m("👍", "ok 👍🏽"));
        assert!(m("👍🏽", "ok 👍"));
        let q = compile("👍").unwrap();
        let text = "ok 👍🏽!";
        let why = q.matches(&Document::from_text(text)).unwrap();
        assert_eq!(&text[why.terms[0].start..why.terms[0].end], "👍🏽");
    }

    #[test]
    fn a_handle_with_underscores_matches_the_plain_word() {
        assert!(m("acme_support", "thanks @acme_support"));
        assert!(m("acme_support", "thanks #acme_support"));
        assert!(m("acme_support", "user acme_support wrote"));
        assert!(m("@acme_support", "thanks @Acme_Support"));
        assert!(!m("acme", "thanks @acme_support"));
        assert!(!m("acme_support", "acme support"));
        assert!(m("acme", "_acme_ is here"));
        assert!(m("acme_sup*", "@acme_supportteam"));
    }

    #[test]
    fn prolonged_sound_mark_never_joins_latin() {
        assert!(m("ソニー", "ソニーPlayStation"));
        assert!(m("playstation", "ソニーPlayStation"));
    }

    #[test]
    fn copyright_registered_and_trademark_are_tokens() {
        assert!(m("acme", "Acme™ phones"));
        assert!(m("™", "Acme™ phones"));
        assert!(m("acme™", "Acme™ phones"));
        assert!(m("\"acme ™\"", "Acme ™"));
        assert!(m("©", "©2024 Acme"));
        assert!(!m("tm", "Acme™"));
    }
}

mod presearch_requirements {
    use crate::{Document, Fields, Requirement, compile};

    fn req(q: &str) -> Requirement {
        compile(q).unwrap().requirement()
    }

    fn term(t: &str) -> Requirement {
        Requirement::Term(t.into())
    }

    fn word(w: &str) -> Requirement {
        Requirement::Any(vec![
            term(&format!("#{w}")),
            term(&format!("@{w}")),
            term(w),
        ])
    }

    #[test]
    fn every_part_of_an_and_a_near_and_a_phrase_is_kept() {
        assert_eq!(
            req("apple AND \"pie crust\""),
            Requirement::All(vec![word("apple"), word("crust"), word("pie")])
        );
        assert_eq!(
            req("(apple OR #pie) NEAR/3 juice NOT bitter"),
            Requirement::All(vec![
                Requirement::Any(vec![
                    term("#apple"),
                    term("#pie"),
                    term("@apple"),
                    term("apple")
                ]),
                word("juice"),
            ])
        );
        assert_eq!(
            req("comp* OR author:@Kim"),
            Requirement::Any(vec![
                Requirement::Prefix("#comp".into()),
                Requirement::Prefix("@comp".into()),
                Requirement::Prefix("comp".into()),
                Requirement::Author("kim".into()),
            ])
        );
        assert_eq!(req("lang:en OR apple"), Requirement::Anything);
        assert_eq!(req("title:refund AND lang:en"), Requirement::Anything);
        assert_eq!(req("{Office}"), word("office"));
    }

    #[test]
    fn a_document_meets_the_requirement_of_every_query_it_matches() {
        let fields = Fields {
            author: Some("@KIM"),
            ..Fields::default()
        };
        let doc = Document::new("Acme's complaints about #pie", None, fields);
        for q in [
            "complain*",
            "author:kim AND acme",
            "pie",
            "\"acme s\"~0",
            "#pie",
        ] {
            assert!(compile(q).unwrap().is_match(&doc), "{q}");
            assert!(req(q).holds(&doc), "{q}");
        }
        assert!(!req("author:ann").holds(&doc));
        assert!(!req("cake").holds(&doc));
    }
}

mod terms {
    use super::*;

    #[test]
    fn a_word_any_case() {
        assert!(m("apple", "An Apple a day"));
        assert!(!m("apple", "pineapple"));
    }

    #[test]
    fn a_phrase_in_order_and_adjacent() {
        assert!(m("\"apple juice\"", "fresh Apple Juice"));
        assert!(!m("\"apple juice\"", "juice apple"));
        assert!(!m("\"apple juice\"", "apple orange juice"));
        assert!(m("\"apple juice\"", "apple, juice"));
    }

    #[test]
    fn wildcards_within_one_word() {
        assert!(m("complain*", "so many complaints"));
        assert!(m("complain*", "stop complaining"));
        assert!(m("complain*", "I complain"));
        assert!(!m("complain*", "complai"));
        assert!(m("t*est", "the tallest"));
        assert!(m("t*est", "a test"));
        assert!(!m("t*est", "testing"));
        assert!(m("customi?e", "customise it"));
        assert!(m("customi?e", "customize it"));
        assert!(!m("customi?e", "customie"));
        assert!(!m("customi?e", "customiise"));
        assert!(m("complain*", "#complaints"));
    }

    #[test]
    fn braces_are_case_sensitive() {
        assert!(m("{BT}", "BT broadband is down"));
        assert!(!m("{BT}", "bt broadband"));
        assert!(m("{Office}", "Office 365"));
        assert!(!m("{Office}", "my office"));
        assert!(m("{Brand Watch}", "Brand Watch rocks"));
        assert!(!m("{Brand Watch}", "brand watch rocks"));
        assert!(!m("{Brand Watch}", "Watch Brand"));
    }

    #[test]
    fn talkwalker_exact_spellings() {
        assert!(m("++\"L'Oréal\"", "L'Oréal Paris"));
        assert!(!m("++\"L'Oréal\"", "l'oréal paris"));
        assert!(!m("++\"L'Oréal\"", "L'Oreal Paris"));
        assert!(m("+\"l'oréal\"", "L'ORÉAL PARIS"));
        assert!(!m("+\"l'oréal\"", "L'Oreal"));
        assert!(m("+\"apple juice\"", "APPLE JUICE"));
    }

    #[test]
    fn written_as_is() {
        assert!(m("#tag", "#tag"));
        assert!(m("@handle", "hi @handle"));
        assert!(m("🔥", "🔥"));
        assert!(m("€100", "only €100!"));
        assert!(!m("€100", "only $100!"));
        assert!(!m("€100", "100 €"));
    }

    #[test]
    fn comments_are_ignored() {
        assert!(m("apple <<<any comment>>> OR pie", "pie"));
        assert!(m("<<<fruit>>>apple", "apple"));
        assert_eq!(error_codes("apple <<<any comment>>>"), Vec::<&str>::new());
    }

    #[test]
    fn words_with_punctuation_are_phrases() {
        assert!(m(
            "https://www.youtube.com/",
            "see https://www.youtube.com/watch?v=1"
        ));
        assert!(m("https://www.youtube.com/", "https www youtube com"));
        assert!(!m("https://www.youtube.com/", "youtube"));
        assert!(m("test:case", "a test case"));
    }
}

mod operators {
    use super::*;

    #[test]
    fn and_or_not() {
        assert!(m("apple AND pie", "pie and apple"));
        assert!(!m("apple AND pie", "apple"));
        assert!(m("apple OR pie", "pie"));
        assert!(!m("apple OR pie", "cake"));
        assert!(m("apple NOT pie", "apple cake"));
        assert!(!m("apple NOT pie", "apple pie"));
        assert!(!m("apple AND NOT pie", "pie. Much later: apple"));
        assert!(m("apple banana", "banana apple"));
        assert!(!m("apple banana", "banana"));
    }

    #[test]
    fn groups() {
        assert!(m("(apple OR orange) AND juice", "orange juice"));
        assert!(!m("(apple OR orange) AND juice", "orange soda"));
        assert!(m("apple AND (NOT pie)", "apple"));
    }

    #[test]
    fn near_counts_tokens_between_in_either_order() {
        assert!(m("apple NEAR/2 pie", "apple and a pie"));
        assert!(!m("apple NEAR/1 pie", "apple and a pie"));
        assert!(m("apple NEAR/2 pie", "pie and an apple"));
        assert!(!m("apple NEAR/3 apple", "one apple only"));
        assert!(m("apple NEAR/3 apple", "apple, apple"));
    }

    #[test]
    fn near_between_groups_uses_their_matches() {
        let q = "(apple OR orange) NEAR/5 (phone OR smartphone)";
        assert!(m(q, "my orange smartphone"));
        assert!(m(q, "phone case in apple green"));
        assert!(!m(q, "apple, then one two three four five six, phone"));
        assert!(m(
            "(\"apple pie\" OR tart) NEAR/1 (recipe OR \"how to\")",
            "how to bake apple pie"
        ));
        assert!(!m(
            "(\"apple pie\" OR tart) NEAR/1 (recipe OR \"how to\")",
            "how to bake a fine apple pie"
        ));
        // A group's match spans its own matches: a NEAR inside a NEAR.
        assert!(m(
            "(apple NEAR/1 pie) NEAR/2 recipe",
            "apple pie family recipe"
        ));
        assert!(!m(
            "(apple NEAR/1 pie) NEAR/2 recipe",
            "apple pie, my old family recipe"
        ));
    }

    #[test]
    fn near_f_and_onear_keep_the_order() {
        assert!(m("apple NEAR/2f pie", "apple and pie"));
        assert!(!m("apple NEAR/2f pie", "pie and apple"));
        assert!(m("apple NEAR/0f pie", "apple pie"));
        assert!(!m("apple NEAR/0f pie", "pie apple"));
        assert!(!m("apple NEAR/0f pie", "apple x pie"));
        assert!(m("apple ONEAR/2 pie", "apple and pie"));
        assert!(!m("apple ONEAR/2 pie", "pie and apple"));
    }

    #[test]
    fn tilde_on_a_phrase_is_near_over_its_words_any_order() {
        assert!(m("\"apple juice\"~3", "juice made from apple"));
        assert!(m("\"apple juice\"~3", "apple-flavoured juice"));
        assert!(!m("\"apple juice\"~1", "juice made from apple"));
        assert!(m("\"apple juice\"~0", "juice apple"));
        // Every two words at most n apart.
        assert!(m("\"apple pie recipe\"~2", "recipe: pie with apple"));
        assert!(!m("\"apple pie recipe\"~2", "recipe for a pie with apple"));
        assert!(!m("\"very very\"~2", "very good"));
        assert!(m("\"very very\"~2", "very very good"));
    }

    #[test]
    fn tilde_on_groups() {
        assert!(m("(apple AND juice)~2", "juice of an apple"));
        assert!(!m("(apple AND juice)~1", "juice of an apple"));
        assert!(m("(apple OR juice)~2", "juice of an apple"));
        assert!(!m("(apple OR juice)~2", "apple only"));
        assert!(m("(apple OR juice OR pie)~1", "pie apple"));
        assert!(!m(
            "(apple OR juice OR pie)~1",
            "pie, then more apples and an apple"
        ));
        assert!(m("(apple AND juice NOT cider)~2", "apple juice"));
        assert!(!m("(apple AND juice NOT cider)~2", "apple juice and cider"));
    }

    #[test]
    fn sentence_and_osentence() {
        assert!(m("apple SENTENCE pie", "pie made of apple. Great"));
        assert!(!m("apple SENTENCE pie", "pie. apple"));
        assert!(m("apple OSENTENCE pie", "apple, then pie. Great"));
        assert!(!m("apple OSENTENCE pie", "pie, then apple. Great"));
        assert!(m("apple OSENTENCE pie", "pie? no. apple, then pie"));
    }

    #[test]
    fn precedence() {
        // NEAR binds tighter than AND.
        assert!(m("cheap AND apple NEAR/1 pie", "apple pie is cheap"));
        assert!(!m("cheap AND apple NEAR/1 pie", "apple is cheap, pie"));
        // NOT binds to what follows it.
        assert!(m("apple NOT pie NEAR/1 crust", "apple pie"));
        assert!(!m("apple NOT pie NEAR/1 crust", "apple pie crust"));
        // AND and OR may not be mixed; an implicit AND counts as AND.
        assert_eq!(error_codes("a AND b OR c"), ["mixed_and_or"]);
        assert_eq!(error_codes("apple banana OR cherry"), ["mixed_and_or"]);
        assert_eq!(error_codes("(a AND b) OR c"), Vec::<&str>::new());
        // Two NOTs in a row are allowed.
        assert!(m("apple NOT bitter NOT sour", "sweet apple"));
        assert!(!m("apple NOT bitter NOT sour", "sour apple"));
        assert!(!m("apple NOT bitter NOT sour", "bitter apple"));
    }
}

mod fields {
    use super::*;

    #[test]
    fn author_without_at() {
        let f = Fields {
            author: Some("@BrandWatch"),
            ..Fields::default()
        };
        assert!(mf("author:brandwatch", f));
        assert!(mf("author:@brandwatch", f));
        assert!(mf("author:  brandwatch", f));
        assert!(mf("AUTHOR:BRANDWATCH", f));
        assert!(!mf("author:brand", f));
    }

    #[test]
    fn title_is_a_phrase_in_the_title() {
        let q = compile("title:\"refund request\"").unwrap();
        let with = |title| q.is_match(&Document::new("body", Some(title), Fields::default()));
        assert!(with("My Refund Request, again"));
        assert!(!with("request a refund"));
        assert!(!q.is_match(&Document::from_text("refund request")));
        let word = compile("title:refund").unwrap();
        assert!(word.is_match(&Document::new("", Some("REFUND"), Fields::default())));
    }

    #[test]
    fn language_channel_country() {
        let f = Fields {
            language: Some("ko"),
            channel: Some("Mastodon"),
            country: Some("KR"),
            ..Fields::default()
        };
        assert!(mf("language:ko", f));
        assert!(mf("lang:KO", f));
        assert!(!mf("lang:en", f));
        assert!(mf("channel:mastodon", f));
        assert!(mf("country:kr", f));
        assert!(mf("country:KOR", f));
        assert!(!mf("country:us", f));
        let author = Fields {
            author_country: Some("de"),
            ..Fields::default()
        };
        assert!(mf("country:deu", author));
        assert_eq!(error_codes("lang:english"), ["bad_field_value"]);
        assert_eq!(error_codes("country:xx"), ["bad_field_value"]);
    }

    #[test]
    fn site_includes_subdomains_and_url_is_a_substring() {
        let f = Fields {
            url: Some("https://www.reddit.com/r/x/comments/1"),
            ..Fields::default()
        };
        assert!(mf("site:reddit.com", f));
        assert!(mf("site:www.reddit.com", f));
        assert!(mf("site:REDDIT.COM", f));
        assert!(mf("site:reddit.com/r/x", f));
        assert!(!mf("site:reddit.com/r/y", f));
        assert!(!mf("site:dit.com", f));
        assert!(mf("url:r/x/comments", f));
        assert!(mf("url:\"/R/X/\"", f));
        assert!(!mf("url:r/y", f));
        let source = Fields {
            site: Some("news.example.org"),
            ..Fields::default()
        };
        assert!(mf("site:example.org", source));
    }

    #[test]
    fn followers_verified_rating() {
        let f = Fields {
            author_followers: Some(1000),
            author_verified: Some(true),
            rating: Some(4.0),
            ..Fields::default()
        };
        assert!(mf("authorFollowers:[1000 TO 5000]", f));
        assert!(mf("authorFollowers:[10 TO 1000]", f));
        assert!(!mf("authorFollowers:[1001 TO 5000]", f));
        assert!(mf("authorFollowers:[500 TO *]", f));
        assert!(mf("authorVerified:true", f));
        assert!(!mf("authorVerified:false", f));
        assert!(mf("rating:4", f));
        assert!(!mf("rating:5", f));
        assert!(mf("rating:[3 TO 4]", f));
        assert!(mf("rating:[4 TO 5]", f));
        assert!(!mf("rating:[0 TO 3]", f));
        assert!(!mf("rating:4", Fields::default()));
    }

    #[test]
    fn engagement_sentiment_subreddit() {
        let f = Fields {
            engagement_type: Some("RESHARE"),
            sentiment: Some("negative"),
            subreddit: Some("r/rust"),
            ..Fields::default()
        };
        assert!(mf("engagementType:RETWEET", f));
        assert!(mf("engagementtype:retweet", f));
        assert!(!mf("engagementType:REPLY", f));
        assert!(mf("sentiment:negative", f));
        assert!(!mf("sentiment:positive", f));
        assert!(mf("subreddit:rust", f));
        assert!(mf("subreddit:r/Rust", f));
        assert_eq!(error_codes("engagementType:LIKE"), ["bad_field_value"]);
        assert_eq!(error_codes("sentiment:angry"), ["bad_field_value"]);
    }

    #[test]
    fn fields_combine_with_text() {
        let q = compile("(refund OR \"money back\") AND lang:en NOT sentiment:positive").unwrap();
        let doc = |text, sentiment| {
            Document::new(
                text,
                None,
                Fields {
                    language: Some("en"),
                    sentiment: Some(sentiment),
                    ..Fields::default()
                },
            )
        };
        assert!(q.is_match(&doc("I want my money back", "negative")));
        assert!(!q.is_match(&doc("I want my money back", "positive")));
        let why = q.matches(&doc("refund please", "neutral")).unwrap();
        assert_eq!(why.fields, ["lang:en"]);
        assert_eq!(why.terms[0].term, "refund");
    }

    #[test]
    fn unknown_fields_are_text_with_a_warning() {
        assert!(m("test:case", "test case"));
        assert_eq!(warning_codes("test:case"), ["unknown_field"]);
        let w = &lint("https://www.youtube.com/").warnings[0];
        assert!(w.message.contains("https:"), "{}", w.message);
    }

    #[test]
    fn bad_values_are_errors() {
        assert_eq!(error_codes("rating:6"), ["bad_field_value"]);
        assert_eq!(error_codes("authorVerified:yes"), ["bad_field_value"]);
        assert_eq!(error_codes("rating:[1 to 5]"), ["bad_field_value"]);
        assert_eq!(error_codes("authorGender:"), ["unsupported_field"]);
        assert_eq!(error_codes("authorGender:female"), ["unsupported_field"]);
        assert!(
            lint("authorGender:").errors[0]
                .message
                .contains("authorGender")
        );
        assert_eq!(error_codes("author:"), ["bad_field_value"]);
        assert_eq!(error_codes("author: AND x"), ["bad_field_value"]);
        assert_eq!(error_codes("rating:[5 TO 1]"), ["bad_field_value"]);
        assert_eq!(error_codes("rating:[1 TO 5"), ["bad_field_value"]);
        assert_eq!(error_codes("authorFollowers:[a TO b]"), ["bad_field_value"]);
        assert_eq!(error_codes("author:(a OR b)"), ["bad_field_value"]);
    }

    #[test]
    fn no_space_before_the_colon() {
        assert_eq!(error_codes("author :kim"), ["space_before_colon"]);
        assert_eq!(error_codes("author : kim"), ["space_before_colon"]);
        // Not a field: nothing to say.
        assert_eq!(error_codes("hello :kim"), Vec::<&str>::new());
    }
}

mod explanations {
    use super::*;

    #[test]
    fn terms_with_byte_spans_and_token_positions() {
        let q = compile("refund* NEAR/3 (\"money back\" OR cash)").unwrap();
        let text = "Ich will mein Geld: refunds, money back!";
        let why = q.matches(&Document::from_text(text)).unwrap();
        let got: Vec<(&str, &str, u32, u32)> = why
            .terms
            .iter()
            .map(|t| {
                (
                    t.term.as_str(),
                    &text[t.start..t.end],
                    t.first_token,
                    t.last_token,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("refund*", "refunds", 4, 4),
                ("money back", "money back", 5, 6)
            ]
        );
    }

    #[test]
    fn only_matching_branches_are_explained() {
        let q = compile("(apple OR pear) AND pie NOT cake").unwrap();
        let why = q.matches(&Document::from_text("pear pie")).unwrap();
        let terms: Vec<&str> = why.terms.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(terms, ["pear", "pie"]);
        assert!(q.matches(&Document::from_text("pear pie cake")).is_none());
    }
}

mod multilingual {
    use super::*;

    #[test]
    fn german() {
        assert!(m("muller", "Herr Müller sagt"));
        assert!(m("Müller", "HERR MÜLLER"));
        assert!(!m("Müller", "Herr Muller"));
        assert!(m(
            "kundenservice NEAR/3 schlecht",
            "Der Kundenservice ist wirklich schlecht."
        ));
        assert!(m("straße", "Hauptstraße? Nein, Straße"));
    }

    #[test]
    fn french() {
        assert!(m("\"service client\"", "Le Service Client est nul"));
        assert!(m("déçu", "Très déçu par L'Oréal"));
        assert!(m("decu", "Très déçu"));
        assert!(m("oreal", "L'Oréal"));
        assert!(!m("oréal", "L'Oreal"));
    }

    #[test]
    fn korean() {
        assert!(m("sprinklr", "Sprinklr에서 상담했는데 답이 없어요"));
        assert!(!m("상담 NEAR/3 답", "Sprinklr에서 상담했는데 답이 없어요"));
        assert!(m(
            "상담했는데 NEAR/1 답이",
            "Sprinklr에서 상담했는데 답이 없어요"
        ));
    }

    #[test]
    fn arabic_with_and_without_vowel_marks_and_rtl_marks() {
        assert!(m("مرحبا", "مَرْحَبًا بكم"));
        assert!(m("خدمة NEAR/1 العملاء", "خدمة العملاء سيئة جدا؟ نعم"));
        assert!(!m("خدمة SENTENCE نعم", "خدمة العملاء سيئة جدا؟ نعم"));
        assert!(m("acme", "\u{200F}acme\u{200F} رائع"));
    }

    #[test]
    fn japanese() {
        assert!(m("周受資", "TikTokのCEO周受資表示によると"));
        assert!(m("tiktok NEAR/2 ceo", "TikTokのCEO周受資表示"));
        assert!(m("ソニー", "ソニーの新しいカメラ"));
        assert!(!m("ソニー", "ソの新しいカメラ"));
    }
}

mod hostile {
    use super::*;

    /// Runs `f` on a thread with a 2 MiB stack (the default of spawned threads and of
    /// tokio's workers), whatever the test harness's own stack is.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("no panic or overflow");
    }

    #[test]
    fn a_4000_character_query_with_1000_terms() {
        let terms: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        let or = terms.join(" OR ");
        assert!(or.len() >= 4000, "{}", or.len());
        let q = compile(&or).unwrap();
        assert!(q.is_match(&Document::from_text("say w999 now")));
        assert!(!q.is_match(&Document::from_text("say w1000 now")));
        assert_eq!(q.required_any_of().map(|r| r.len()), Some(3000));
        let and = terms.join(" AND ");
        assert!(
            compile(&and)
                .unwrap()
                .is_match(&Document::from_text(&terms.join(" ")))
        );
        let implicit = terms.join(" ");
        assert_eq!(lint(&implicit).warnings.len(), 999);
        let chain = terms.join(" NEAR/5 ");
        assert!(error_codes(&chain).contains(&"too_deep"));
    }

    #[test]
    fn two_hundred_levels_of_parentheses_work_and_deeper_is_refused() {
        on_small_stack(|| {
            let q = format!("{}apple OR pie{}", "(".repeat(200), ")".repeat(200));
            let query = compile(&q).unwrap();
            assert!(query.matches(&Document::from_text("pie")).is_some());
            let q = format!("{}apple{}", "(".repeat(256), ")".repeat(256));
            assert!(compile(&q).is_ok());
            let q = format!("{}apple{}", "(".repeat(257), ")".repeat(257));
            assert_eq!(error_codes(&q), ["too_deep"]);
            let q = format!("{}apple", "(".repeat(100_000));
            assert!(error_codes(&q).contains(&"too_deep"));
            let chain = (0..300)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" NEAR/5 ");
            assert!(error_codes(&chain).contains(&"too_deep"));
            let chain = (0..250)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" NEAR/5 ");
            let text = (0..250)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                compile(&chain)
                    .unwrap()
                    .is_match(&Document::from_text(&text))
            );
        });
    }

    #[test]
    fn a_megabyte_of_text() {
        let mut text = "lorem ipsum dolor sit amet, ".repeat(40_000);
        text.push_str("the refund never came. #acme");
        assert!(text.len() > 1_000_000);
        let doc = Document::from_text(&text);
        for (query, expected) in [
            ("refund NEAR/2 came", true),
            ("lorem NEAR/0f ipsum", true),
            ("ipsum NEAR/0f lorem", false),
            ("lorem SENTENCE acme", false),
            ("refund SENTENCE acme", false),
            (
                "(lorem OR ipsum) NEAR/1 (dolor OR sit) NEAR/50 refund",
                true,
            ),
            ("\"amet lorem ipsum\"~1 NOT zebra", true),
            ("\"amet lorem ipsum\"~0", false),
            ("(lorem AND ipsum AND zebra)~3", false),
            ("dol* AND #acme", true),
            ("lorem OSENTENCE ipsum", true),
        ] {
            let q = compile(query).unwrap();
            assert_eq!(q.is_match(&doc), expected, "{query}");
            assert_eq!(q.matches(&doc).is_some(), expected, "{query}");
        }
    }

    #[test]
    fn combining_marks_rtl_marks_and_joiners() {
        // "café" written with a combining accent.
        assert!(m("cafe", "un cafe\u{301} noir"));
        assert!(m("café", "un café noir"));
        assert!(m("acme", "\u{202E}acme\u{202C} is reversed"));
        assert!(m("👨‍👩‍👧", "family 👨‍👩‍👧 time"));
        assert!(!m("👨", "family 👨‍👩‍👧 time"));
        assert!(m("a NEAR/0 b", "a\u{200D}b"));
        assert!(m("x", "\u{FEFF}x"));
        // Query text with the same oddities does not break the parser.
        for q in [
            "\u{200D}",
            "\u{301}",
            "\u{202E}apple",
            "apple\u{200F} OR pie",
        ] {
            let _ = lint(q);
        }
        assert_eq!(error_codes("\u{200D}"), ["empty_term"]);
    }

    #[test]
    fn wide_white_space_inside_ranges_and_phrases() {
        let f = Fields {
            rating: Some(3.0),
            ..Fields::default()
        };
        assert!(mf("rating:[1\u{3000}TO\u{3000}5]", f));
        assert!(m("\"apple\u{3000}juice\"~2", "juice of an apple"));
        assert!(m("apple\u{3000}AND\u{3000}juice", "juice apple"));
    }

    #[test]
    fn queries_and_documents_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<crate::Query>();
        shared::<crate::TopicSet>();
        shared::<Document<'static>>();
        shared::<crate::Scratch>();
    }

    #[test]
    fn overlong_numbers_do_not_overflow() {
        assert!(m("apple NEAR/4294967295 pie", "apple pie"));
        assert_eq!(error_codes("apple NEAR/4294967296 pie"), ["bad_proximity"]);
        assert!(m("\"apple pie\"~4294967295", "pie apple"));
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn query_chars() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("(".to_string()),
                Just(")".to_string()),
                Just("\"".to_string()),
                Just(" ".to_string()),
                Just("~".to_string()),
                Just("~3".to_string()),
                Just("*".to_string()),
                Just("?".to_string()),
                Just("{".to_string()),
                Just("}".to_string()),
                Just(":".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just(" AND ".to_string()),
                Just(" OR ".to_string()),
                Just(" NOT ".to_string()),
                Just(" NEAR/2 ".to_string()),
                Just(" NEAR/0f ".to_string()),
                Just(" SENTENCE ".to_string()),
                Just("<<<".to_string()),
                Just(">>>".to_string()),
                Just("rating:".to_string()),
                Just("site:".to_string()),
                Just("title:".to_string()),
                Just(" TO ".to_string()),
                Just("++".to_string()),
                Just("#".to_string()),
                Just("@".to_string()),
                Just("apple".to_string()),
                Just("é".to_string()),
                Just("周".to_string()),
                Just("🔥".to_string()),
                Just("\u{301}".to_string()),
                "[a-c]{1,3}",
                any::<char>().prop_map(String::from),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_parser_never_panics_and_spans_are_in_bounds(q in query_chars()) {
            let report = lint(&q);
            for d in report.errors.iter().chain(&report.warnings) {
                prop_assert!(d.start <= d.end && d.end <= q.len(), "{d:?}");
                prop_assert!(q.is_char_boundary(d.start) && q.is_char_boundary(d.end), "{d:?}");
                prop_assert!(!d.message.is_empty());
            }
            match compile(&q) {
                Ok(query) => {
                    prop_assert!(report.errors.is_empty());
                    let doc = Document::from_text("apple abc é 周 🔥. #apple b c");
                    let _ = query.matches(&doc);
                }
                Err(r) => prop_assert!(!r.errors.is_empty()),
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(q in any::<String>(), text in any::<String>()) {
            let _ = lint(&q);
            if let Ok(query) = compile(&q) {
                let doc = Document::from_text(&text);
                if query.matches(&doc).is_some() {
                    prop_assert!(query.requirement().holds(&doc), "{:?} on {:?}", q, text);
                }
            }
        }
    }

    /// A small query tree, written out as NQL and evaluated by brute force as the model.
    #[derive(Debug, Clone)]
    enum Model {
        Word(&'static str),
        And(Vec<Model>),
        Or(Vec<Model>),
        AndNot(Box<Model>, Box<Model>),
        Near(&'static str, &'static str, u32, bool),
        Sentence(&'static str, &'static str),
    }

    const WORDS: &[&str] = &["apple", "pie", "niño", "nino", "#apple", "juice"];

    fn model() -> impl Strategy<Value = Model> {
        let word = prop::sample::select(WORDS);
        let leaf = prop_oneof![
            word.clone().prop_map(Model::Word),
            (word.clone(), word.clone(), 0u32..4, any::<bool>())
                .prop_map(|(a, b, n, f)| Model::Near(a, b, n, f)),
            (word.clone(), word).prop_map(|(a, b)| Model::Sentence(a, b)),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Model::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Model::Or),
                (inner.clone(), inner).prop_map(|(a, b)| Model::AndNot(Box::new(a), Box::new(b))),
            ]
        })
    }

    fn write(m: &Model) -> String {
        match m {
            Model::Word(w) => (*w).to_string(),
            Model::And(items) => format!(
                "({})",
                items.iter().map(write).collect::<Vec<_>>().join(" AND ")
            ),
            Model::Or(items) => format!(
                "({})",
                items.iter().map(write).collect::<Vec<_>>().join(" OR ")
            ),
            Model::AndNot(a, b) => format!("({} NOT {})", write(a), write(b)),
            Model::Near(a, b, n, f) => {
                format!("({a} NEAR/{n}{} {b})", if *f { "f" } else { "" })
            }
            Model::Sentence(a, b) => format!("({a} SENTENCE {b})"),
        }
    }

    /// (folded text, is hashtag, sentence) per token of a text made of WORDS and separators.
    fn model_tokens(text: &str) -> Vec<(String, bool, u32)> {
        needle_text::tokens(text)
            .map(|t| {
                let s = t.text(text);
                (s.to_string(), s.starts_with('#'), t.sentence)
            })
            .collect()
    }

    /// Does query word `w` match text token `t`, by the spec's rules, written plainly.
    fn word_matches(w: &str, t: &str) -> bool {
        let (w_tag, w_body) = match w.strip_prefix('#') {
            Some(b) => (true, b),
            None => (false, w),
        };
        let (t_tag, t_body) = match t.strip_prefix('#') {
            Some(b) => (true, b),
            None => (false, t),
        };
        if w_tag && !t_tag {
            return false;
        }
        if needle_text::has_accents(w_body) {
            w_body.to_lowercase() == t_body.to_lowercase()
        } else {
            needle_text::fold(w_body) == needle_text::fold(t_body)
        }
    }

    fn positions(w: &str, tokens: &[(String, bool, u32)]) -> Vec<usize> {
        (0..tokens.len())
            .filter(|&i| word_matches(w, &tokens[i].0))
            .collect()
    }

    fn eval_model(m: &Model, tokens: &[(String, bool, u32)]) -> bool {
        match m {
            Model::Word(w) => !positions(w, tokens).is_empty(),
            Model::And(items) => items.iter().all(|i| eval_model(i, tokens)),
            Model::Or(items) => items.iter().any(|i| eval_model(i, tokens)),
            Model::AndNot(a, b) => eval_model(a, tokens) && !eval_model(b, tokens),
            Model::Near(a, b, n, ordered) => positions(a, tokens).iter().any(|&i| {
                positions(b, tokens)
                    .iter()
                    .any(|&j| i != j && (!*ordered || i < j) && (i.abs_diff(j) - 1) as u32 <= *n)
            }),
            Model::Sentence(a, b) => positions(a, tokens).iter().any(|&i| {
                positions(b, tokens)
                    .iter()
                    .any(|&j| i != j && tokens[i].2 == tokens[j].2)
            }),
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "apple", "Apple", "pie", "niño", "NINO", "#apple", "#Pie", "juice", "x",
                    ][..],
                ),
                prop::sample::select(&[" ", " ", ", ", ". ", "\n", "-"][..]),
            ),
            0..12,
        )
        .prop_map(|parts| parts.into_iter().map(|(w, s)| format!("{w}{s}")).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn the_matcher_agrees_with_a_brute_force_model(m in model(), text in text()) {
            let q = write(&m);
            let query = compile(&q).unwrap_or_else(|r| panic!("{q}: {r:?}"));
            let doc = Document::from_text(&text);
            let expected = eval_model(&m, &model_tokens(&text));
            prop_assert_eq!(query.is_match(&doc), expected, "{} on {:?}", q, text);
            prop_assert_eq!(query.matches(&doc).is_some(), expected);
        }

        #[test]
        fn a_match_always_contains_a_required_term(m in model(), text in text()) {
            let q = write(&m);
            let query = compile(&q).unwrap();
            let doc = Document::from_text(&text);
            if query.is_match(&doc) {
                let required = query.required_any_of();
                prop_assert!(required.is_some(), "{q}");
                let required = required.unwrap_or_default();
                prop_assert!(
                    required.iter().any(|t| doc.has_folded(t)),
                    "{} matched {:?} without any of {:?}", q, text, required
                );
                prop_assert!(query.requirement().holds(&doc), "{} on {:?}", q, text);
            }
        }
    }
}
