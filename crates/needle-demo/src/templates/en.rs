//! English: about half of all traffic, so it has the most variety.

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "en",
    given: &[
        n!("Emma"),
        n!("Liam"),
        n!("Olivia"),
        n!("Noah"),
        n!("Ava"),
        n!("James"),
        n!("Sophia"),
        n!("Ethan"),
        n!("Mia"),
        n!("Lucas"),
        n!("Chloe"),
        n!("Daniel"),
        n!("Priya"),
        n!("Omar"),
        n!("Wei"),
        n!("Grace"),
        n!("Jack"),
        n!("Hannah"),
        n!("Tyler"),
        n!("Zoe"),
    ],
    family: &[
        n!("Smith"),
        n!("Johnson"),
        n!("Brown"),
        n!("Taylor"),
        n!("Wilson"),
        n!("Davies"),
        n!("Miller"),
        n!("Clark"),
        n!("Patel"),
        n!("Nguyen"),
        n!("Walker"),
        n!("Hughes"),
        n!("Murphy"),
        n!("Kelly"),
        n!("Robinson"),
        n!("Lewis"),
        n!("Chen"),
        n!("Garcia"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("New York", "US"),
        city!("London", "GB"),
        city!("Toronto", "CA"),
        city!("Sydney", "AU"),
        city!("Chicago", "US"),
        city!("Manchester", "GB"),
        city!("Austin", "US"),
        city!("Dublin", "IE"),
        city!("Seattle", "US"),
        city!("Melbourne", "AU"),
    ],
    mail_domains: &[
        "gmail.example",
        "outlook.example",
        "icloud.example",
        "yahoo.example",
    ],
    subreddits: &[
        "AcmePhone",
        "smartphones",
        "gadgets",
        "headphones",
        "laptops",
        "techsupport",
    ],
    bodies: [
        // Complaint
        &[
            "My {phone} screen cracked after one drop from a table. Two weeks old. This is not what I paid $999 for {neg} {at}",
            "{at} the {buds} keep disconnecting from my laptop every 10 minutes. Already reset them three times and nothing changed.",
            "Third time this month AcmeOS froze in the middle of a call. I'm honestly done with this phone {neg} {tag}",
            "Customer service put me on hold for 45 minutes and then hung up. Order {order}. Worst support experience I've ever had.",
            "The {laptop} fan sounds like a jet engine while doing literally nothing. Is this normal?? {neg}",
            "Acme Cloud deleted half of my photos after the last sync. Years of memories, gone. {at} please explain {neg}",
            "Support told me \"it's a known issue, just wait for the update\". That was {days} days ago and I'm still waiting.",
        ],
        // Refund
        &[
            "I want a refund for order {order}. The {phone} arrived with a dead pixel and I'm not waiting weeks for a repair.",
            "{at} I returned my {buds} {days} days ago and still no refund. How long is this supposed to take?",
            "Requesting a full refund for my {laptop} (order {order}). The keyboard stopped working on day three.",
            "Cancelled my Acme Cloud subscription last month but I was still charged again. I want my money back {neg}",
            "Your store charged my card twice for order {order}. Please refund the duplicate payment asap.",
        ],
        // Shipping
        &[
            "Order {order} has said \"out for delivery\" for {days} days now. Where is my {phone}? {at}",
            "Ordered the {buds} on launch day and still no tracking number. Anyone else in {city} waiting? {tag}",
            "Delivery was supposed to be Tuesday. The tracking page just says \"label created\". Order {order} {neg}",
            "My package got sent to the wrong address in {city}. Order {order}. How do I get this fixed?",
            "The courier left my {laptop} outside in the rain and the box is soaked. Great job {neg} {at}",
        ],
        // Praise
        &[
            "Honestly the {phone} camera is unreal. Took it to the beach in {city} and every shot looks professional {pos} {tag}",
            "Shoutout to {at}, they replaced my cracked screen in 20 minutes, no questions asked. That's how you keep customers {pos}",
            "Battery life on the {laptop} is ridiculous. Full workday of calls and still at 40% {pos}",
            "Switched from {rival} to the {phone} last month and I'm not going back. AcmeOS is so smooth {pos}",
            "The noise cancelling on the {buds} is black magic. Best purchase I made this year {pos} {tag}",
            "Five years with Acme Cloud and it has never lost a single file. Quietly the best service I pay for {pos}",
        ],
        // Question
        &[
            "Does the {phone} support dual SIM with eSIM? Can't find it anywhere on the website {q}",
            "{at} how do I move my photos from Acme Cloud to an external drive without losing the albums?",
            "Is there a way to turn off auto-brightness in AcmeOS 7? It keeps dimming the screen and it's driving me crazy",
            "Can I use the {buds} with a {rival} phone or do they only work properly with Acme devices? {q}",
            "What's the warranty on the {laptop} if I buy it in {city}? Is it valid internationally?",
            "Acme Cloud sync fails with error 0x80070005 on C:\\Users\\me\\AcmeCloud. How do I fix the folder permissions?",
        ],
        // Purchase
        &[
            "Thinking of buying a new phone, what do you recommend? The {phone} or the {rivalphone}? {q}",
            "My old phone is dying. Is the {phone} worth it or should I wait for the next one?",
            "Looking for good wireless earbuds under $200. Has anyone tried the {buds}? {q}",
            "Need a laptop for uni, torn between the {laptop} and something from {rival}. Thoughts?",
            "Ok I'm finally doing it. Ordering the {phone} tonight {pos} {tag}",
        ],
        // Crisis
        &[
            "My {phone} got extremely hot while charging and the battery caught fire. The whole room smelled of smoke. {at} this is dangerous!!",
            "URGENT: the {buds} case started smoking in my bag. My kid was sitting right next to it. {tag}",
            "The {laptop} battery is swelling and the trackpad is popping out. Is this thing going to explode?? {neg}",
            "Reports everywhere that the latest AcmeOS update bricks phones. Mine won't turn on at all. #AcmeRecall",
            "My {phone} exploded on the nightstand last night.\nNobody was hurt but the table is burnt.\nI have photos. {at} call me.",
        ],
        // Spam
        &[
            "🔥 Get the {phone} for just $99!!! Limited offer, click {spam} before it's gone 🔥",
            "Earn $500/day from home with just your phone 💰💰 DM me for details {tag}",
            "FREE Acme gift cards for the first 100 followers! Go to {spam} now #giveaway {tag}",
            "Buy 1000 real followers cheap at {spam} - fast delivery, 100% safe, no password needed",
        ],
        // Chatter
        &[
            "The {rivalphone} camera test from {city} looks insane. Phones in 2026 are wild.",
            "Why are all flagship phones over $1000 now? My first smartphone cost $300.",
            "{rival} just announced new earbuds with 40h battery. The earbuds market is getting crowded.",
            "Is it just me or do all laptops look exactly the same these days?",
            "Hot take: nobody needs a folding phone. Give me a headphone jack and a battery that lasts two days.",
        ],
    ],
    titles: [
        &[
            "Screen cracked after two weeks",
            "Really disappointed with my {product}",
            "Terrible support experience",
        ],
        &[
            "Refund request - order {order}",
            "Still waiting for my refund",
        ],
        &["Where is my order {order}?", "Delivery delayed again"],
        &["Best phone I've owned", "Five stars, would buy again"],
        &["Question about {product}", "How do I back up Acme Cloud?"],
        &["Which phone should I buy?", "{phone} vs {rivalphone}?"],
        &["Battery caught fire!", "Safety issue - device overheating"],
        &["You have won a FREE phone!!!", "Best deal of the year"],
        &[
            "Flagship phones are too expensive",
            "New earbuds from {rival}",
        ],
    ],
    care: &[
        "Hi {name}, we're sorry to hear that. Could you send us a DM with your order number so we can look into it right away? ^{agent}",
        "Hi {name}, thanks for reaching out. I've opened case {case} for you and a specialist will contact you within 24 hours. - {agent}",
        "That's definitely not the experience we want you to have, {name}. Please stop using the device and send us a DM, we'll arrange a replacement. ^{agent}",
        "Hi {name}, I checked order {order}: it's with the courier and should arrive within 2 business days. Sorry for the wait! - {agent}",
    ],
    thanks: &[
        "Thank you so much, {name}! We'll pass this on to the team, it really made our day {pos} ^{agent}",
        "Love to hear it, {name}! Enjoy your new device, and let us know if you ever need anything {pos}",
    ],
    sales: &[
        "Hi {name}! The {phone} has the best battery life in our lineup. Happy to help you compare, just send us a DM. ^{agent}",
        "Great question, {name}! If the camera matters most, we'd go with the {phone}. Trade-in deals are on this week too. ^{agent}",
    ],
    followups: &[
        "Sent you a DM with order {order}.",
        "Still nothing. It's been {days} days. This is ridiculous.",
        "Thanks, the replacement arrived today. Much appreciated!",
        "Ok, thank you. I'll wait for the call.",
        "I already did that twice. Can I please talk to a real person?",
        "That worked, thank you {pos}",
    ],
    news: &[
        (
            "Acme recalls some {phone} units over battery overheating",
            "Acme has announced a voluntary recall of a small batch of {phone} devices after several customers reported overheating while charging. Owners can check their serial number on the Acme website.",
        ),
        (
            "{buds} review: great noise cancelling, so-so battery",
            "The {buds} impress with excellent active noise cancelling and a balanced sound, but the battery life of around six hours is only average for the price.",
        ),
        (
            "{rival} cuts prices as the phone market slows",
            "{rival} is cutting prices on its flagship phones by up to 15 percent as demand slows. Analysts expect Acme to follow before the holiday season.",
        ),
    ],
    greeting: "Hello,",
    closing: "Best regards,",
    reply_prefix: "Re: ",
};
