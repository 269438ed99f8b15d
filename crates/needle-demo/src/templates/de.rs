//! German. `{phone}` and `{laptop}` are neuter ("das"), `{buds}` plural ("die").

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "de",
    given: &[
        n!("Lukas"),
        n!("Anna"),
        n!("Leon"),
        n!("Marie"),
        n!("Felix"),
        n!("Sophie"),
        n!("Jonas"),
        n!("Lena"),
        n!("Paul"),
        n!("Laura"),
        n!("Maximilian"),
        n!("Hannah"),
        n!("Tobias"),
        n!("Julia"),
        n!("Jürgen", "Juergen"),
        n!("Jörg", "Joerg"),
    ],
    family: &[
        n!("Müller", "Mueller"),
        n!("Schmidt"),
        n!("Schneider"),
        n!("Fischer"),
        n!("Weber"),
        n!("Meyer"),
        n!("Wagner"),
        n!("Becker"),
        n!("Hoffmann"),
        n!("Schäfer", "Schaefer"),
        n!("Koch"),
        n!("Richter"),
        n!("Wolf"),
        n!("Krüger", "Krueger"),
        n!("Weiß", "Weiss"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("Berlin", "DE"),
        city!("München", "DE"),
        city!("Hamburg", "DE"),
        city!("Köln", "DE"),
        city!("Frankfurt", "DE"),
        city!("Wien", "AT"),
        city!("Zürich", "CH"),
        city!("Leipzig", "DE"),
    ],
    mail_domains: &[
        "gmx.example",
        "web.example",
        "t-online.example",
        "posteo.example",
    ],
    subreddits: &["de_EDV", "de", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "Das Display von meinem {phone} ist nach einem Sturz vom Tisch gesprungen. Zwei Wochen alt! Für 999 € erwarte ich mehr {neg} {at}",
            "Meine {buds} verlieren ständig die Verbindung zum Laptop. Schon dreimal zurückgesetzt, nichts hilft. {at}",
            "Seit dem letzten AcmeOS-Update stürzt mein {phone} bei jedem Anruf ab. Langsam reicht es mir wirklich {tag}",
            "45 Minuten in der Warteschleife und dann einfach aufgelegt. Bestellung {order}. So einen schlechten Kundenservice habe ich noch nie erlebt.",
            "Der Support meinte nur: \"Das ist ein bekanntes Problem, warten Sie auf das Update.\" Das war vor {days} Tagen.",
        ],
        // Refund
        &[
            "Ich möchte mein Geld für Bestellung {order} zurück. Das {phone} kam mit einem Pixelfehler an, auf eine Reparatur habe ich keine Lust.",
            "{at} Ich habe meine {buds} vor {days} Tagen zurückgeschickt und noch immer keine Erstattung erhalten. Wie lange dauert das denn noch?",
            "Acme Cloud gekündigt, aber trotzdem wurde diesen Monat wieder abgebucht. Bitte erstatten Sie mir den Betrag {neg}",
        ],
        // Shipping
        &[
            "Bestellung {order} steht seit {days} Tagen auf \"in Zustellung\". Wo bleibt mein {phone}? {at}",
            "Die {buds} am Erscheinungstag bestellt und immer noch keine Sendungsnummer. Wartet in {city} noch jemand? {tag}",
            "Lieferung war für Dienstag angekündigt, jetzt heißt es plötzlich nächste Woche. Echt ärgerlich {neg}",
        ],
        // Praise
        &[
            "Die Kamera vom {phone} ist der Wahnsinn. Gestern Abend in {city} fotografiert und jedes Bild sieht aus wie vom Profi {pos} {tag}",
            "Großes Lob an {at}: Display in 20 Minuten getauscht, ohne Diskussion. So geht Kundenservice {pos}",
            "Von {rival} auf das {phone} gewechselt und ich bereue nichts. AcmeOS läuft super flüssig {pos}",
            "Der Akku vom {laptop} hält locker einen ganzen Arbeitstag durch. Hätte ich nicht gedacht {pos}",
        ],
        // Question
        &[
            "Unterstützt das {phone} Dual-SIM mit eSIM? Ich finde dazu nichts auf der Website {q}",
            "{at} Wie kann ich meine Fotos aus der Acme Cloud auf eine externe Festplatte sichern?",
            "Funktionieren die {buds} auch mit einem Handy von {rival} oder nur mit Acme-Geräten? {q}",
            "Fehlermeldung beim Sync: Zugriff verweigert auf C:\\Benutzer\\Jonas\\AcmeCloud. Was kann ich tun?",
        ],
        // Purchase
        &[
            "Ich überlege, mir ein neues Handy zu kaufen. Was würdet ihr empfehlen: das {phone} oder das {rivalphone}? {q}",
            "Mein altes Smartphone gibt langsam den Geist auf. Lohnt sich das {phone} oder soll ich auf das nächste Modell warten?",
            "Suche einen Laptop fürs Studium. Ist das {laptop} sein Geld wert? {q}",
        ],
        // Crisis
        &[
            "Mein {phone} ist beim Laden extrem heiß geworden und der Akku hat Feuer gefangen! Das ganze Zimmer riecht nach Rauch. {at} das ist gefährlich!!",
            "DRINGEND: Das Ladecase meiner {buds} hat in der Tasche angefangen zu qualmen. Mein Kind saß direkt daneben. {tag}",
            "Der Akku in meinem {laptop} bläht sich auf, das Touchpad wölbt sich schon nach oben. Kann das explodieren?? {neg}",
        ],
        // Spam
        &[
            "🔥 Das {phone} für nur 99 €!!! Nur heute, jetzt klicken: {spam} 🔥",
            "Verdiene 500 € am Tag von zu Hause aus 💰 Schreib mir eine DM für Infos {tag}",
            "Gratis Acme-Gutscheine für die ersten 100 Follower! Einfach hier registrieren: {spam}",
        ],
        // Chatter
        &[
            "Habt ihr den Kameratest vom {rivalphone} gesehen? Verrückt, was Handys heute können.",
            "Warum kosten Flaggschiff-Handys eigentlich alle über 1000 €? Mein erstes Smartphone hat 300 gekostet.",
            "{rival} bringt neue Kopfhörer mit 40 Stunden Akku raus. Der Markt wird langsam echt voll.",
        ],
    ],
    titles: [
        &[
            "Sehr enttäuscht",
            "Schlechte Erfahrung mit Acme",
            "Gar nicht zufrieden",
        ],
        &[
            "Bitte um Erstattung, Bestellung {order}",
            "Warte immer noch auf mein Geld",
        ],
        &[
            "Wo bleibt meine Bestellung {order}?",
            "Problem mit der Lieferung",
        ],
        &["Wirklich beeindruckt", "Fünf Sterne, klare Empfehlung"],
        &["Kurze Frage", "Kann mir jemand helfen?"],
        &["Brauche Rat vor dem Kauf", "Was soll ich nehmen?"],
        &["DRINGEND: Sicherheitsproblem", "Das ist gefährlich"],
        &[
            "Sie haben ein GRATIS Handy gewonnen!!!",
            "Angebot des Jahres",
        ],
        &[
            "Ist euch das auch aufgefallen?",
            "Mal eine Frage in die Runde",
        ],
    ],
    care: &[
        "Hallo {name}, das tut uns sehr leid! Schick uns bitte eine DM mit deiner Bestellnummer, dann kümmern wir uns sofort darum. ^{agent}",
        "Hallo {name}, danke für deine Nachricht. Ich habe den Fall {case} für dich angelegt, ein Kollege meldet sich innerhalb von 24 Stunden. - {agent}",
        "Hallo {name}, bitte benutze das Gerät nicht mehr und schick uns eine DM. Wir organisieren sofort einen Austausch. ^{agent}",
        "Hallo {name}, ich habe nachgesehen: Bestellung {order} ist beim Paketdienst und sollte in 2 Werktagen ankommen. Sorry für die Wartezeit! - {agent}",
    ],
    thanks: &[
        "Vielen Dank, {name}! Das geben wir sehr gerne ans Team weiter {pos} ^{agent}",
        "Das freut uns riesig, {name}! Viel Spaß mit deinem neuen Gerät, und melde dich jederzeit {pos}",
    ],
    sales: &[
        "Hallo {name}! Das {phone} hat die beste Akkulaufzeit in unserem Sortiment. Schreib uns gern eine DM, dann helfen wir beim Vergleich. ^{agent}",
        "Gute Frage, {name}! Wenn dir die Kamera am wichtigsten ist, würden wir das {phone} empfehlen. Diese Woche gibt es übrigens Eintauschprämien. ^{agent}",
    ],
    followups: &[
        "Habe euch eine DM mit der Bestellung {order} geschickt.",
        "Immer noch nichts. Das sind jetzt {days} Tage. Unglaublich.",
        "Danke, das Austauschgerät ist heute angekommen. Top!",
        "Okay, danke. Ich warte auf den Anruf.",
        "Das habe ich schon zweimal gemacht. Kann ich bitte mit einem echten Menschen sprechen?",
    ],
    news: &[
        (
            "Acme ruft einige {phone}-Geräte wegen Überhitzung zurück",
            "Acme hat einen freiwilligen Rückruf für eine kleine Charge des {phone} angekündigt, nachdem Kunden über Überhitzung beim Laden berichtet hatten. Betroffene können ihre Seriennummer auf der Acme-Website prüfen.",
        ),
        (
            "Test: {buds} mit starker Geräuschunterdrückung",
            "Im Test überzeugen die {buds} mit hervorragender Geräuschunterdrückung und gutem Klang. Die Akkulaufzeit liegt mit rund sechs Stunden allerdings nur im Mittelfeld.",
        ),
        (
            "{rival} senkt die Preise, der Smartphone-Markt schwächelt",
            "Der Hersteller {rival} reagiert auf die schwache Nachfrage und senkt die Preise seiner Oberklasse-Smartphones um bis zu 15 Prozent. Analysten erwarten, dass Acme nachziehen muss.",
        ),
    ],
    greeting: "Hallo,",
    closing: "Viele Grüße",
    reply_prefix: "AW: ",
};
