//! Italian. Product names start with a vowel, so articles are elided ("l'{phone}",
//! "dell'{phone}"); `{buds}` is feminine plural (le cuffiette).

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "it",
    given: &[
        n!("Giulia"),
        n!("Francesco"),
        n!("Chiara"),
        n!("Alessandro"),
        n!("Sofia"),
        n!("Lorenzo"),
        n!("Martina"),
        n!("Matteo"),
        n!("Aurora"),
        n!("Andrea"),
        n!("Federica"),
        n!("Davide"),
    ],
    family: &[
        n!("Rossi"),
        n!("Russo"),
        n!("Ferrari"),
        n!("Esposito"),
        n!("Bianchi"),
        n!("Romano"),
        n!("Colombo"),
        n!("Ricci"),
        n!("Marino"),
        n!("Greco"),
        n!("Bruno"),
        n!("Gallo"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("Milano", "IT"),
        city!("Roma", "IT"),
        city!("Napoli", "IT"),
        city!("Torino", "IT"),
        city!("Bologna", "IT"),
        city!("Firenze", "IT"),
    ],
    mail_domains: &["libero.example", "tiscali.example", "gmail.example"],
    subreddits: &["italy", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "Lo schermo del mio {phone} si è crepato dopo una sola caduta dal tavolo. Ha due settimane! Per 999 € mi aspettavo di meglio {neg} {at}",
            "Le mie {buds} si disconnettono ogni dieci minuti. Le ho già resettate tre volte, niente da fare. {at}",
            "Dall'ultimo aggiornamento di AcmeOS il mio {phone} si blocca a ogni chiamata. Non ne posso più {tag}",
            "L'assistenza mi ha detto solo: \"È un problema noto, aspetti l'aggiornamento\". Era {days} giorni fa.",
            "45 minuti di attesa al servizio clienti e poi mi hanno chiuso il telefono in faccia. Ordine {order}. Vergognoso.",
        ],
        // Refund
        &[
            "Chiedo il rimborso dell'ordine {order}. L'{phone} è arrivato con un pixel bruciato e non voglio la riparazione.",
            "{at} Ho restituito le mie {buds} {days} giorni fa e ancora nessun rimborso. Quanto ci vuole?",
            "Ho disdetto l'abbonamento ad Acme Cloud ma mi hanno addebitato lo stesso questo mese. Rivoglio i miei soldi {neg}",
        ],
        // Shipping
        &[
            "Il mio ordine {order} è \"in consegna\" da {days} giorni. Dov'è il mio {phone}? {at}",
            "Ho ordinato le {buds} il giorno dell'uscita e ancora nessun numero di tracciamento. Qualcun altro in attesa a {city}? {tag}",
            "La consegna era prevista per martedì, adesso dicono la settimana prossima. Che nervi {neg}",
        ],
        // Praise
        &[
            "La fotocamera dell'{phone} è pazzesca. Ieri sera ho scattato a {city} e sembrano tutte foto da professionista {pos} {tag}",
            "Grazie {at}! Schermo sostituito in 20 minuti, senza storie. Questa sì che è assistenza {pos}",
            "Sono passato da {rival} all'{phone} e non torno indietro. AcmeOS è fluidissimo {pos}",
        ],
        // Question
        &[
            "L'{phone} supporta il dual SIM con eSIM? Non trovo niente sul sito {q}",
            "{at} Come faccio a spostare le foto da Acme Cloud a un disco esterno?",
            "Le {buds} funzionano con un telefono {rival} o solo con i dispositivi Acme? {q}",
        ],
        // Purchase
        &[
            "Sto pensando di comprare un telefono nuovo, cosa mi consigliate? Meglio l'{phone} o un {rivalphone}? {q}",
            "Il mio vecchio smartphone sta morendo. Vale la pena prendere l'{phone} o aspetto il prossimo modello?",
            "Cerco un portatile per l'università. L'{laptop} vale quello che costa? {q}",
        ],
        // Crisis
        &[
            "Il mio {phone} si è surriscaldato durante la ricarica e la batteria ha preso fuoco! Tutta la stanza puzza di fumo. {at} è pericoloso!!",
            "URGENTE: la custodia delle mie {buds} ha iniziato a fumare nello zaino. Mio figlio era proprio accanto. {tag}",
            "La batteria del mio {laptop} si sta gonfiando e il trackpad si sta sollevando. Può esplodere?? {neg}",
        ],
        // Spam
        &[
            "🔥 L'{phone} a soli 99 €!!! Offerta limitata, clicca qui: {spam} 🔥",
            "Guadagna 500 € al giorno da casa 💰 Scrivimi in DM per info {tag}",
            "Buoni regalo Acme GRATIS per i primi 100 follower! Registrati su {spam}",
        ],
        // Chatter
        &[
            "Avete visto la prova della fotocamera di {rivalphone}? I telefoni di oggi sono assurdi.",
            "Perché tutti i top di gamma costano più di 1000 € adesso? Il mio primo smartphone costava 300.",
            "{rival} lancia nuove cuffiette con 40 ore di autonomia. Il mercato è sempre più affollato.",
        ],
    ],
    titles: [
        &[
            "Molto deluso",
            "Pessima esperienza con Acme",
            "Per niente soddisfatto",
        ],
        &["Rimborso ordine {order}", "Aspetto ancora il rimborso"],
        &["Dov'è il mio ordine {order}?", "Problema con la consegna"],
        &["Davvero colpito", "Cinque stelle, lo consiglio"],
        &["Domanda veloce", "Qualcuno mi aiuta?"],
        &[
            "Mi serve un consiglio prima di comprare",
            "Quale mi conviene?",
        ],
        &["URGENTE: problema di sicurezza", "È pericoloso"],
        &["Hai vinto un telefono GRATIS!!!", "L'offerta dell'anno"],
        &["Ci avete fatto caso?", "Due chiacchiere di tecnologia"],
    ],
    care: &[
        "Ciao {name}, ci dispiace molto. Puoi mandarci il numero d'ordine in DM? Lo verifichiamo subito. ^{agent}",
        "Ciao {name}, grazie per averci scritto. Ho aperto la pratica {case}: un nostro specialista ti contatterà entro 24 ore. - {agent}",
        "Ciao {name}, per favore smetti di usare il dispositivo e scrivici in DM: organizziamo subito la sostituzione. ^{agent}",
        "Ciao {name}, ho controllato l'ordine {order}: è già al corriere e dovrebbe arrivare entro 2 giorni lavorativi. Scusa per l'attesa! - {agent}",
    ],
    thanks: &[
        "Grazie mille, {name}! Lo giriamo subito a tutto il team {pos} ^{agent}",
        "Che bello leggerlo, {name}! Goditi il tuo nuovo dispositivo e scrivici quando vuoi {pos}",
    ],
    sales: &[
        "Ciao {name}! L'{phone} ha la batteria più longeva della nostra gamma. Scrivici in DM e ti aiutiamo a confrontarli. ^{agent}",
        "Ottima domanda, {name}! Se per te conta soprattutto la fotocamera, ti consigliamo l'{phone}. Questa settimana c'è anche la supervalutazione dell'usato. ^{agent}",
    ],
    followups: &[
        "Vi ho mandato un DM con l'ordine {order}.",
        "Ancora niente. Sono passati {days} giorni. Assurdo.",
        "Grazie, il dispositivo sostitutivo è arrivato oggi. Perfetto!",
        "Ok, grazie. Aspetto la chiamata.",
        "L'ho già fatto due volte. Posso parlare con una persona vera?",
    ],
    news: &[
        (
            "Acme richiama alcuni {phone} per rischio surriscaldamento",
            "Acme ha annunciato il richiamo volontario di un piccolo lotto di {phone} dopo che diversi clienti hanno segnalato surriscaldamenti durante la ricarica. I proprietari possono verificare il numero di serie sul sito di Acme.",
        ),
        (
            "Recensione delle {buds}: ottima cancellazione del rumore, autonomia nella media",
            "Le {buds} convincono per l'eccellente cancellazione attiva del rumore e il suono equilibrato, ma l'autonomia di circa sei ore resta nella media.",
        ),
        (
            "{rival} taglia i prezzi mentre il mercato degli smartphone rallenta",
            "Il produttore {rival} ridurrà fino al 15% i prezzi dei suoi smartphone di fascia alta. Secondo gli analisti, Acme dovrà adeguarsi.",
        ),
    ],
    greeting: "Buongiorno,",
    closing: "Cordiali saluti,",
    reply_prefix: "R: ",
};
