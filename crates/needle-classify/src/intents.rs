//! Rule-based intents: what the writer wants, as cue phrases in English and the large
//! European languages (German, French, Spanish, Italian, Portuguese, Dutch).
//!
//! Each intent is a set of cue phrases plus the guards that stop its near misses ("this
//! deal is fire" is not a safety incident; "I bought it last year" is not purchase intent).
//! A message may carry several intents or none; nothing is guessed.

use std::sync::OnceLock;

use needle_core::classification::intent;
use regex::{Regex, RegexSet};

struct Rules {
    /// The cue patterns that only need a yes or no, run together in one pass over the text
    /// (indices: the `CUE_*` constants).
    cues: RegexSet,
    question_word: Regex,
    /// The crisis cues again, for their spans: a cue inside a figurative phrase does not
    /// count.
    crisis: Regex,
    crisis_figurative: Regex,
}

/// Patterns run on lower-cased text. A Unicode `\b` makes the regex engine leave its fast
/// DFA on non-ASCII text, so word boundaries are spelled as a consumed non-word character
/// (or the text's edge) instead; matches may then include that one character, so two
/// boundaries must never meet (`\\b(?:\\bx)` would need two separators).
fn spell_boundaries(pattern: &str) -> String {
    const NOT_WORD: &str = "[^\\p{L}\\p{N}_]";
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut rest = pattern;
    while let Some(at) = rest.find("\\b") {
        out.push_str(&rest[..at]);
        let before_word = rest[at + 2..]
            .chars()
            .next()
            .is_some_and(|c| c != ')' && c != '|');
        if before_word {
            out.push_str(&format!("(?:^|{NOT_WORD})"));
        } else {
            out.push_str(&format!("(?:{NOT_WORD}|$)"));
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

const CUE_SPAM: usize = 0;
const CUE_COMPLAINT: usize = 1;
const CUE_SARCASM: usize = 2;
const CUE_PURCHASE: usize = 3;
const CUE_PRAISE: usize = 4;
const CUE_CHURN: usize = 5;
const CUE_CRISIS: usize = 6;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let complaint = spell_boundaries(concat!(
            r"\b(?:",
            // English
            r"(?:does ?n[o']?t|doesnt|won'?t|will not|did ?n[o']?t|didnt|stopped|never) (?:work|working|arrive[ds]?|turn on|charge|start|load)",
            r"|not working|broken|broke (?:down|after)|defective|faulty|damaged|arrived (?:late|broken|damaged)",
            r"|still (?:waiting|no|not|haven'?t)|no (?:response|reply|answer|refund)|nobody (?:answers|replies|responded|helps)",
            r"|refund|money back|charged (?:me )?twice|overcharged|double charged|rip-?off|scam(?:med)?",
            r"|worst|terrible|horrible|awful|useless|unacceptable|disappointed|disappointing|fed up|sick of|frustrat\w+",
            r"|complain\w*|on hold for|waste of (?:time|money)|keeps? crashing|crashe[sd]|error message|bug(?:gy|s)?\b",
            // German
            r"|funktioniert (?:nicht|nie)|geht nicht|kaputt|defekt|beschädigt|reklamation|beschwerde|enttäuscht|unverschämt|keine antwort|immer noch nicht|geld zurück|erstattung",
            // French
            r"|ne fonctionne (?:pas|plus)|marche pas|cassée?|en panne|défectueux|remboursement|déçue?|inadmissible|aucune réponse|toujours pas|plainte|arnaque",
            // Spanish / Portuguese / Italian
            r"|no funciona|roto|rota|averiado|reembolso|decepcionad[oa]|queja|estafa|sin respuesta|todavía no",
            r"|não funciona|quebrad[oa]|reembolso|decepcionad[oa]|reclamação|golpe",
            r"|non funziona|rott[oa]|difettoso|rimborso|delus[oa]|reclamo|truffa",
            // Dutch
            r"|werkt niet|kapot|terugbetaling|teleurgesteld|klacht|oplichting",
            r")\b",
        ));
        // Sarcasm reads positive to a lexicon ("thanks for nothing" scores +0.60 in VADER);
        // these phrases mark a complaint whatever the score says.
        let sarcasm = spell_boundaries(
            r"\b(?:thanks for nothing|thanks a lot for nothing|yeah,? right|just great|great,? (?:just|now|another)|love (?:how|it when)[^.!?]{0,40}\b(?:broke|break|crash|fail|wait|late|lost))",
        );
        let question_word = spell_boundaries(concat!(
            r"^(?:",
            r"how|what|when|where|why|who|which|can (?:you|i|we|someone)|could (?:you|i|someone)|do (?:you|i|they)|does|is (?:there|it|this)|are (?:there|you)|should i|will (?:it|you|there)|any (?:idea|one|body)|anyone",
            r"|wie|was|wann|wo|warum|wer|welche[rs]?|kann (?:man|ich)|können sie|gibt es|weiß jemand",
            r"|comment|pourquoi|quand|où|qui|quel(?:le)?s?|est-ce que|pouvez-vous|peut-on",
            r"|cómo|como|qué|cuándo|dónde|por qué|quién|cuál|alguien sabe|puedo|pueden",
            r"|come|perché|quando|dove|chi|quale|qualcuno sa|posso",
            r"|hoe|wat|wanneer|waar|waarom|wie|welke|kan ik|weet iemand",
            r")\b",
        ));
        let purchase = spell_boundaries(concat!(
            r"\b(?:",
            r"(?:thinking (?:of|about)|considering|planning (?:to|on)|want(?:ing)? to|wanna|going to|gonna|about to|need to|looking to|ready to|would like to|plan to) (?:buy|get|purchase|order|upgrade|switch to|subscribe|sign up)",
            r"|should i (?:buy|get|go (?:for|with)|choose|pick|upgrade)|which (?:\w+ )?(?:should i|to) (?:buy|get|choose|pick)|worth (?:buying|the money|it\?)",
            r"|in the market for|looking for (?:a|an) (?:new|good|decent|cheap|reliable)|shopping for|where (?:can|do) i (?:buy|get|order)",
            r"|(?:any|your) recommendations?|what (?:do|would) you recommend|can (?:you|anyone) recommend|recommend (?:a|an|me|some)",
            r"|(?:price|pricing|quote|discount) for|how much (?:is|does|for)|do you (?:ship|deliver) to|is it in stock|back in stock",
            r"|(?:überlege|möchte|will|würde gerne?|plane)[^.!?]{0,40}\b(?:kaufen|bestellen|zulegen)|kaufempfehlung|was würdet ihr empfehlen|könnt ihr \w+ empfehlen|wo kann ich \w+ kaufen",
            r"|(?:envie|besoin|intention) d'acheter|je (?:pense|compte|veux|voudrais)[^.!?]{0,30}\bacheter|vous (?:me )?conseillez|que conseillez|où acheter",
            r"|(?:quiero|pienso|estoy pensando en|me gustaría)[^.!?]{0,30}\bcomprar|qué me recomiendan|recomendaciones para|dónde comprar",
            r"|(?:quero|penso em|estou pensando em) comprar|vale a pena comprar|(?:voglio|vorrei|penso di) comprare|cosa mi consigliate",
            r"|(?:wil|ga|overweeg) (?:\w+ )?(?:kopen|bestellen)|wat raden jullie aan",
            r")",
        ));
        let praise = spell_boundaries(concat!(
            r"\b(?:",
            r"love (?:it|this|my|the|you|your)|loving|thank(?:s| you)(?: so much)? (?:for|to)|kudos|shout ?out to|props to|great (?:job|service|support|work|product|experience)",
            r"|(?:amazing|awesome|excellent|outstanding|fantastic|brilliant|superb|wonderful|perfect|impressive|best (?:ever|purchase|service))",
            r"|highly recommend|works (?:perfectly|great|like a charm)|exceeded (?:my )?expectations|well done|5 stars|five stars",
            r"|danke (?:für|an)|super (?:service|produkt)|toll|hervorragend|ausgezeichnet|begeistert|sehr zufrieden|empfehlenswert",
            r"|merci (?:pour|à|beaucoup)|génial|excellent|parfait|bravo|super service|très satisfait",
            r"|gracias (?:por|a)|excelente|genial|perfecto|me encanta|muy satisfech[oa]",
            r"|obrigad[oa] (?:pela|pelo)|adorei|excelente|perfeito|grazie (?:per|mille)|eccellente|fantastico|perfetto",
            r"|bedankt voor|geweldig|uitstekend|perfect|top service",
            r")",
        ));
        let churn = spell_boundaries(concat!(
            r"\b(?:",
            r"cancel(?:l?ing|l?ed)? (?:my|the|our) (?:subscription|account|plan|contract|membership|order)|close my account|delete my account",
            r"|(?:switch(?:ing)?|moving|going|changing|migrating) (?:over )?(?:to|back to) (?:\w+ ){0,2}(?:instead|competitor)?|switching providers",
            r"|(?:done|finished) with (?:you|your|this)|never (?:buying|ordering|using|coming back|again)|last time i(?:'m| am)? (?:buy|order|us)\w*|lost (?:a|another) customer",
            r"|(?:not|won'?t be) renewing|unsubscribing|take my (?:money|business) elsewhere|goodbye \w+|bye bye \w+",
            r"|kündig\w*|vertrag beenden|wechsle zu|nie wieder|résili\w+|je change pour|plus jamais|me doy de baja|dar(?:me)? de baja|cancelar (?:mi|la) (?:suscripción|cuenta)|nunca más",
            r"|cancelar (?:minha|a) assinatura|nunca mais|disdire|disdetta|mai più|opzeggen|nooit meer",
            r")",
        ));
        let crisis = spell_boundaries(concat!(
            r"\b(?:",
            // Safety
            r"caught fire|on fire|exploded|explosion|burst into flames|smoke (?:came|coming|pouring) (?:out|from)|burn(?:ed|t|s)? (?:my|me|his|her)|electric(?:al)? shock|electrocuted",
            r"|injur(?:y|ed|ies)|hospitali[sz]ed|(?:in|to) (?:the )?hospital|choking hazard|poison(?:ed|ing)|food poisoning|allergic reaction|unsafe|safety hazard|product recall|safety recall|recalled",
            // Legal
            r"|lawyer|attorney|lawsuit|sue (?:you|them|the company)|suing|class action|legal action|take (?:you|this) to court|small claims|consumer protection|ombudsman|regulator|gdpr (?:complaint|violation)|data breach|leaked (?:my )?(?:data|personal)",
            // PR
            r"|boycott|going viral|journalist|reporter|press release|contact(?:ing)? the (?:press|media|news)|racist|racism|sexist|discriminat\w+|harass\w+|abus(?:e|ive) (?:by|from) (?:your )?staff",
            // Other languages
            r"|in brand geraten|brandgefahr|explodiert|verletzt|krankenhaus|anwalt|klage|verklagen|verbraucherzentrale|datenleck|rückruf",
            r"|incendie|a explosé|blessée?|hôpital|avocat|procès|porter plainte|poursuivre en justice|fuite de données",
            r"|incendio|explotó|herid[oa]|hospital|abogado|denunciar|explodiu|advogado",
            r"|esploso|ferit[oa]|ospedale|avvocato|denuncia|ontplofte|gewond|ziekenhuis|advocaat|rechtszaak",
            r")\b",
        ));
        // Figurative uses of the same words: slang praise and engineering jargon.
        let crisis_figurative = spell_boundaries(
            r"\b(?:(?:is|was|looks|sounds|are|so) (?:straight )?fire\b|on fire (?:today|lately|this (?:week|season|year))|fire ?(?:sale|deal|drop)|smoke test|burn ?rate|killer (?:feature|app|deal)|recalled (?:that|the (?:meeting|name|time)))",
        );
        let spam = spell_boundaries(concat!(
            r"(?:",
            r"click (?:here|the link|my (?:bio|link))|link in (?:my )?bio|dm (?:me )?for|follow (?:me )?back|follow for follow|f4f|l4l|sub4sub",
            r"|earn \$?\d+|make \$\d+|(?:\$|€)\d[\d,]* (?:a|per) (?:day|week)|work from home and|passive income|free (?:money|followers|bitcoin|crypto|iphone|gift card)",
            r"|crypto (?:giveaway|signals)|bitcoin (?:doubl|giveaway|investment)|forex (?:signals|trading)|investment opportunity|guaranteed (?:profit|returns)",
            r"|buy (?:cheap )?(?:followers|likes|views)|cheap (?:viagra|cialis|meds)|casino bonus|onlyfans|whatsapp \+?\d|telegram @|limited time offer|act now|congratulations,? you(?:'ve| have)? won",
            r")",
        ));
        let compile = |pattern: &str| Regex::new(pattern).expect("intent patterns are valid");
        Rules {
            cues: RegexSet::new([
                &spam, &complaint, &sarcasm, &purchase, &praise, &churn, &crisis,
            ])
            .expect("intent patterns are valid"),
            question_word: compile(&question_word),
            crisis: compile(&crisis),
            crisis_figurative: compile(&crisis_figurative),
        }
    })
}

/// Counts URL-like tokens in lower-cased text: a wall of links is a spam signal on its own.
fn link_count(lower: &str) -> usize {
    lower
        .split_whitespace()
        .filter(|t| t.starts_with("http://") || t.starts_with("https://") || t.starts_with("www."))
        .count()
}

/// Whether lower-cased text asks something: a question mark ending a clause (not inside a
/// URL), or a clause that opens with a question word.
fn asks(lower: &str, question_word: &Regex) -> bool {
    let ends_with_question_mark = lower.split_whitespace().any(|token| {
        !token.starts_with("http")
            && !token.starts_with("www.")
            && token.trim_end_matches(['!', ')', '"', '\'']).ends_with('?')
    });
    ends_with_question_mark
        || lower
            .split(['.', '!', '\n', ';'])
            .map(str::trim)
            .any(|clause| {
                // "What a day", "what an idea": exclamations, not questions.
                let exclamation = clause.starts_with("what a ") || clause.starts_with("what an ");
                !exclamation
                    && question_word.is_match(clause)
                    && clause.split_whitespace().count() >= 3
            })
}

/// The intents of `text`, given its compound sentiment score.
pub fn detect(text: &str, sentiment: f64) -> Vec<String> {
    let r = rules();
    let text = &text.to_lowercase();
    let mut intents = Vec::new();
    let cues = r.cues.matches(text);
    let spam = cues.matched(CUE_SPAM) || link_count(text) >= 3;
    let complaint = (cues.matched(CUE_COMPLAINT) && sentiment < 0.5) || cues.matched(CUE_SARCASM);
    let question = asks(text, &r.question_word);
    let purchase = cues.matched(CUE_PURCHASE);
    // Praise needs the tone to agree: "thanks for nothing" and "great, broken again" are not.
    let praise = cues.matched(CUE_PRAISE) && sentiment >= 0.3 && !complaint;
    let churn = cues.matched(CUE_CHURN);
    let crisis = cues.matched(CUE_CRISIS) && crisis(text, r);
    for (on, name) in [
        (complaint, intent::COMPLAINT),
        (question, intent::QUESTION),
        (purchase, intent::PURCHASE_INTENT),
        (praise, intent::PRAISE),
        (churn, intent::CHURN_RISK),
        (crisis, intent::CRISIS),
        (spam, intent::SPAM),
    ] {
        if on {
            intents.push(name.to_string());
        }
    }
    intents
}

/// A crisis cue counts unless every cue in the text sits inside a figurative phrase.
fn crisis(text: &str, r: &Rules) -> bool {
    let figurative: Vec<(usize, usize)> = r
        .crisis_figurative
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    r.crisis.find_iter(text).any(|m| {
        !figurative
            .iter()
            .any(|(s, e)| m.start() < *e && *s < m.end())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents(text: &str) -> Vec<String> {
        detect(text, crate::vader::compound(text))
    }

    fn has(text: &str, name: &str) -> bool {
        intents(text).iter().any(|i| i == name)
    }

    #[test]
    fn complaints_in_several_languages() {
        for text in [
            "My order arrived broken and nobody answers my emails",
            "Still waiting for my refund after three weeks",
            "The app keeps crashing since the update",
            "Meine Waschmaschine ist kaputt und niemand hilft",
            "Ma commande est arrivée cassée, je veux un remboursement",
            "El producto no funciona y nadie responde",
        ] {
            assert!(has(text, intent::COMPLAINT), "{text}: {:?}", intents(text));
        }
        for text in [
            "Works great, no complaints here? none at all",
            "I broke my personal record today, feeling great",
        ] {
            assert!(!has(text, intent::COMPLAINT), "{text}: {:?}", intents(text));
        }
    }

    #[test]
    fn purchase_intent_is_the_jump_ball() {
        for text in [
            "thinking of buying an SUV, what do you recommend?",
            "Should I get the Pro or the Air?",
            "In the market for a new laptop, any recommendations?",
            "Ich überlege, ein neues Handy zu kaufen",
            "Je voudrais acheter un vélo électrique, vous me conseillez quoi ?",
            "Quiero comprar una cafetera, ¿qué me recomiendan?",
        ] {
            assert!(
                has(text, intent::PURCHASE_INTENT),
                "{text}: {:?}",
                intents(text)
            );
        }
        for text in [
            "I bought it last year and it still works",
            "Just got my new phone delivered",
        ] {
            assert!(
                !has(text, intent::PURCHASE_INTENT),
                "{text}: {:?}",
                intents(text)
            );
        }
    }

    #[test]
    fn questions_need_a_question() {
        assert!(has("where is my package", intent::QUESTION));
        assert!(has("Is this available in blue?", intent::QUESTION));
        assert!(has("Wie kann ich meine Adresse ändern", intent::QUESTION));
        assert!(!has(
            "see https://example.com/?q=1 for details",
            intent::QUESTION
        ));
        assert!(!has("What a day.", intent::QUESTION));
    }

    #[test]
    fn praise_needs_a_positive_tone() {
        assert!(has(
            "Thank you for the quick help, amazing support!",
            intent::PRAISE
        ));
        assert!(has("Love my new headphones", intent::PRAISE));
        assert!(!has(
            "Thanks for nothing, worst support ever",
            intent::PRAISE
        ));
        assert!(!has(
            "Amazing how it broke after one day. Useless.",
            intent::PRAISE
        ));
    }

    #[test]
    fn churn_risk() {
        assert!(has(
            "I'm cancelling my subscription tomorrow",
            intent::CHURN_RISK
        ));
        assert!(has(
            "Done with you, switching to Globex",
            intent::CHURN_RISK
        ));
        assert!(has("Ich werde meinen Vertrag kündigen", intent::CHURN_RISK));
        assert!(!has(
            "How do I cancel an order I placed by mistake? I still want the rest",
            intent::CHURN_RISK
        ));
    }

    #[test]
    fn crisis_is_safety_legal_or_reputation_not_slang() {
        for text in [
            "The charger caught fire overnight",
            "My son got an electric shock from the toaster",
            "I'm talking to my lawyer about a class action",
            "A journalist from the local paper is asking about this",
            "Der Akku ist explodiert",
        ] {
            assert!(has(text, intent::CRISIS), "{text}: {:?}", intents(text));
        }
        for text in [
            "This new drop is fire 🔥",
            "Our team is on fire this season",
            "Ran the smoke test before release",
            "If I recall correctly the update was last week",
            "I recalled the name of the song just now",
        ] {
            assert!(!has(text, intent::CRISIS), "{text}: {:?}", intents(text));
        }
    }

    #[test]
    fn spam_signals() {
        assert!(has("Earn $500 a day from home!!! click here", intent::SPAM));
        assert!(has("Crypto giveaway, DM me for details", intent::SPAM));
        assert!(!has(
            "Can you DM me the tracking link for my order?",
            intent::SPAM
        ));
    }

    #[test]
    fn nothing_is_guessed() {
        assert!(intents("The weather is nice today.").is_empty());
        assert!(intents("").is_empty());
        assert!(intents("🙂").is_empty());
    }
}
