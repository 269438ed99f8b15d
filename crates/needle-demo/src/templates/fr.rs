//! French. Every product name starts with a vowel ("Acme…"), so articles are elided
//! ("l'{phone}", "de l'{phone}"); `{buds}` is masculine plural (les écouteurs).

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "fr",
    given: &[
        n!("Camille"),
        n!("Louis"),
        n!("Léa", "Lea"),
        n!("Hugo"),
        n!("Chloé", "Chloe"),
        n!("Jules"),
        n!("Manon"),
        n!("Lucas"),
        n!("Inès", "Ines"),
        n!("Gabriel"),
        n!("Emma"),
        n!("Théo", "Theo"),
        n!("Margaux"),
        n!("Antoine"),
    ],
    family: &[
        n!("Martin"),
        n!("Bernard"),
        n!("Dubois"),
        n!("Thomas"),
        n!("Robert"),
        n!("Richard"),
        n!("Petit"),
        n!("Durand"),
        n!("Leroy"),
        n!("Moreau"),
        n!("Lefèvre", "Lefevre"),
        n!("Girard"),
        n!("Fontaine"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("Paris", "FR"),
        city!("Lyon", "FR"),
        city!("Marseille", "FR"),
        city!("Toulouse", "FR"),
        city!("Bordeaux", "FR"),
        city!("Bruxelles", "BE"),
        city!("Montréal", "CA"),
        city!("Genève", "CH"),
    ],
    mail_domains: &[
        "orange.example",
        "free.example",
        "laposte.example",
        "gmail.example",
    ],
    subreddits: &["france", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "L'écran de mon {phone} s'est fissuré après une simple chute de la table. Il a deux semaines ! Pour 999 €, c'est inadmissible {neg} {at}",
            "Mes {buds} se déconnectent toutes les dix minutes. Je les ai déjà réinitialisés trois fois, rien n'y fait. {at}",
            "Depuis la dernière mise à jour d'AcmeOS, mon {phone} plante à chaque appel. J'en ai vraiment marre {tag}",
            "Le service client m'a répondu : \"C'est un problème connu, attendez la mise à jour.\" C'était il y a {days} jours.",
            "45 minutes d'attente au téléphone et on me raccroche au nez. Commande {order}. Service client déplorable.",
        ],
        // Refund
        &[
            "Je demande le remboursement de la commande {order}. Mon {phone} est arrivé avec un pixel mort et je ne veux pas de réparation.",
            "{at} J'ai renvoyé mes {buds} il y a {days} jours et toujours aucun remboursement. C'est normal ?",
            "J'ai résilié mon abonnement Acme Cloud mais j'ai quand même été prélevé ce mois-ci. Je veux être remboursé {neg}",
        ],
        // Shipping
        &[
            "Ma commande {order} est \"en cours de livraison\" depuis {days} jours. Où est mon {phone} ? {at}",
            "Commandé les {buds} le jour de la sortie, toujours pas de numéro de suivi. Quelqu'un d'autre attend à {city} ? {tag}",
            "La livraison était prévue mardi, maintenant on m'annonce la semaine prochaine. Franchement pénible {neg}",
        ],
        // Praise
        &[
            "L'appareil photo de l'{phone} est incroyable. Photos prises hier soir à {city}, on dirait du travail de pro {pos} {tag}",
            "Merci {at} ! Écran remplacé en 20 minutes, sans discuter. Ça, c'est du service client {pos}",
            "J'ai quitté {rival} pour l'{phone} et je ne regrette rien. AcmeOS est super fluide {pos}",
        ],
        // Question
        &[
            "Est-ce que l'{phone} gère la double SIM avec eSIM ? Je ne trouve rien sur le site {q}",
            "{at} Comment transférer mes photos d'Acme Cloud vers un disque dur externe ?",
            "Les {buds} fonctionnent-ils avec un téléphone {rival} ou seulement avec les appareils Acme ? {q}",
        ],
        // Purchase
        &[
            "Je pense acheter un nouveau téléphone, vous me conseillez quoi ? Plutôt {phone} ou {rivalphone} ? {q}",
            "Mon vieux smartphone rend l'âme. L'{phone} vaut-il le coup ou j'attends le prochain modèle ?",
            "Je cherche un ordinateur portable pour la fac. L'{laptop} vaut-il son prix ? {q}",
        ],
        // Crisis
        &[
            "Mon {phone} a chauffé énormément pendant la charge et la batterie a pris feu ! Toute la chambre sent la fumée. {at} c'est dangereux !!",
            "URGENT : le boîtier de mes {buds} s'est mis à fumer dans mon sac. Mon enfant était juste à côté. {tag}",
            "La batterie de mon {laptop} gonfle, le pavé tactile se soulève. Est-ce que ça peut exploser ?? {neg}",
        ],
        // Spam
        &[
            "🔥 L'{phone} à seulement 99 € !!! Offre limitée, cliquez ici : {spam} 🔥",
            "Gagnez 500 € par jour depuis chez vous 💰 Envoyez-moi un DM pour en savoir plus {tag}",
            "Cartes cadeaux Acme GRATUITES pour les 100 premiers abonnés ! Inscrivez-vous sur {spam}",
        ],
        // Chatter
        &[
            "Vous avez vu les photos prises avec {rivalphone} ? C'est fou ce que font les téléphones aujourd'hui.",
            "Pourquoi tous les smartphones haut de gamme coûtent plus de 1000 € maintenant ? Mon premier en coûtait 300.",
            "{rival} sort de nouveaux écouteurs avec 40 heures d'autonomie. Le marché devient vraiment saturé.",
        ],
    ],
    titles: [
        &[
            "Très déçu",
            "Mauvaise expérience avec Acme",
            "Pas satisfait du tout",
        ],
        &[
            "Demande de remboursement, commande {order}",
            "Toujours pas remboursé",
        ],
        &["Où est ma commande {order} ?", "Problème de livraison"],
        &["Vraiment impressionné", "Cinq étoiles, je recommande"],
        &["Petite question", "Quelqu'un peut m'aider ?"],
        &["Besoin de conseils avant d'acheter", "Lequel choisir ?"],
        &["URGENT : problème de sécurité", "C'est dangereux"],
        &[
            "Vous avez gagné un téléphone GRATUIT !!!",
            "L'offre de l'année",
        ],
        &["Vous avez remarqué ?", "Petite réflexion tech"],
    ],
    care: &[
        "Bonjour {name}, nous sommes désolés d'apprendre cela. Pouvez-vous nous envoyer votre numéro de commande en DM ? Nous regardons ça tout de suite. ^{agent}",
        "Bonjour {name}, merci pour votre message. J'ai ouvert le dossier {case}, un conseiller vous contactera sous 24 heures. - {agent}",
        "Bonjour {name}, n'utilisez plus l'appareil et écrivez-nous en DM : nous organisons un remplacement immédiatement. ^{agent}",
        "Bonjour {name}, j'ai vérifié la commande {order} : elle est chez le transporteur et devrait arriver sous 2 jours ouvrés. Désolé pour l'attente ! - {agent}",
    ],
    thanks: &[
        "Merci beaucoup, {name} ! Nous transmettons votre message à toute l'équipe {pos} ^{agent}",
        "Ravis de l'entendre, {name} ! Profitez bien de votre nouvel appareil et n'hésitez pas à nous écrire {pos}",
    ],
    sales: &[
        "Bonjour {name} ! L'{phone} a la meilleure autonomie de notre gamme. Écrivez-nous en DM, on vous aide à comparer. ^{agent}",
        "Bonne question, {name} ! Si l'appareil photo compte le plus pour vous, nous vous conseillons l'{phone}. Il y a aussi une offre de reprise cette semaine. ^{agent}",
    ],
    followups: &[
        "Je vous ai envoyé un DM avec la commande {order}.",
        "Toujours rien. Ça fait {days} jours. C'est inadmissible.",
        "Merci, l'appareil de remplacement est arrivé aujourd'hui. Au top !",
        "D'accord, merci. J'attends votre appel.",
        "Je l'ai déjà fait deux fois. Est-ce que je peux parler à une vraie personne ?",
    ],
    news: &[
        (
            "Acme rappelle certains {phone} pour risque de surchauffe",
            "Acme a annoncé le rappel volontaire d'un petit lot de {phone} après que plusieurs clients ont signalé une surchauffe pendant la charge. Les propriétaires peuvent vérifier leur numéro de série sur le site d'Acme.",
        ),
        (
            "Test des {buds} : une réduction de bruit impressionnante",
            "Les {buds} séduisent par leur réduction de bruit active et leur son équilibré. L'autonomie d'environ six heures reste toutefois dans la moyenne.",
        ),
        (
            "{rival} baisse ses prix face au ralentissement du marché",
            "Le fabricant {rival} réduit jusqu'à 15 % le prix de ses smartphones haut de gamme. Selon les analystes, Acme devra suivre avant les fêtes.",
        ),
    ],
    greeting: "Bonjour,",
    closing: "Cordialement,",
    reply_prefix: "RE : ",
};
