//! Spanish (Spain and Latin America). `{phone}` and `{laptop}` are masculine ("el"),
//! `{buds}` masculine plural ("los auriculares").

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "es",
    given: &[
        n!("Lucía", "Lucia"),
        n!("Mateo"),
        n!("Sofía", "Sofia"),
        n!("Santiago"),
        n!("Valentina"),
        n!("Alejandro"),
        n!("Camila"),
        n!("Diego"),
        n!("Martina"),
        n!("Javier"),
        n!("Isabel"),
        n!("Pablo"),
    ],
    family: &[
        n!("García", "Garcia"),
        n!("Rodríguez", "Rodriguez"),
        n!("Martínez", "Martinez"),
        n!("López", "Lopez"),
        n!("González", "Gonzalez"),
        n!("Hernández", "Hernandez"),
        n!("Pérez", "Perez"),
        n!("Sánchez", "Sanchez"),
        n!("Ramírez", "Ramirez"),
        n!("Torres"),
        n!("Flores"),
        n!("Díaz", "Diaz"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("Madrid", "ES"),
        city!("Barcelona", "ES"),
        city!("Sevilla", "ES"),
        city!("Valencia", "ES"),
        city!("Ciudad de México", "MX"),
        city!("Guadalajara", "MX"),
        city!("Buenos Aires", "AR"),
        city!("Bogotá", "CO"),
    ],
    mail_domains: &["gmail.example", "hotmail.example", "telefonica.example"],
    subreddits: &["es", "mexico", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "Se me rompió la pantalla del {phone} con una sola caída desde la mesa. ¡Tiene dos semanas! Por 999 € esperaba algo mejor {neg} {at}",
            "Mis {buds} se desconectan cada diez minutos. Ya los restablecí tres veces y nada. {at}",
            "Desde la última actualización de AcmeOS, mi {phone} se cuelga en cada llamada. Ya no aguanto más {tag}",
            "45 minutos en espera con atención al cliente y luego me colgaron. Pedido {order}. El peor servicio que he tenido.",
            "El soporte solo me dijo: \"Es un problema conocido, espere a la actualización\". Eso fue hace {days} días.",
        ],
        // Refund
        &[
            "Quiero el reembolso del pedido {order}. El {phone} llegó con un píxel muerto y no quiero una reparación.",
            "{at} Devolví mis {buds} hace {days} días y todavía no me han devuelto el dinero. ¿Cuánto tarda esto?",
            "Cancelé mi suscripción a Acme Cloud y aun así me cobraron este mes. Quiero mi dinero de vuelta {neg}",
        ],
        // Shipping
        &[
            "Mi pedido {order} lleva {days} días \"en reparto\". ¿Dónde está mi {phone}? {at}",
            "Pedí los {buds} el día del lanzamiento y sigo sin número de seguimiento. ¿Alguien más esperando en {city}? {tag}",
            "La entrega era para el martes y ahora dicen que la semana que viene. Qué fastidio {neg}",
        ],
        // Praise
        &[
            "La cámara del {phone} es una locura. Ayer hice fotos en {city} y todas parecen de profesional {pos} {tag}",
            "¡Gracias {at}! Me cambiaron la pantalla en 20 minutos sin poner pegas. Así se trata a un cliente {pos}",
            "Me pasé de {rival} al {phone} y no me arrepiento para nada. AcmeOS va súper fluido {pos}",
        ],
        // Question
        &[
            "¿El {phone} admite doble SIM con eSIM? No encuentro nada en la web {q}",
            "{at} ¿Cómo paso mis fotos de Acme Cloud a un disco duro externo?",
            "¿Los {buds} funcionan con un móvil de {rival} o solo con dispositivos Acme? {q}",
        ],
        // Purchase
        &[
            "Estoy pensando en comprarme un móvil nuevo, ¿qué me recomendáis? ¿El {phone} o el {rivalphone}? {q}",
            "Mi móvil viejo ya no da más. ¿Vale la pena el {phone} o espero al próximo modelo?",
            "Busco un portátil para la universidad. ¿El {laptop} vale lo que cuesta? {q}",
        ],
        // Crisis
        &[
            "¡Mi {phone} se calentó muchísimo mientras cargaba y la batería se prendió fuego! Toda la habitación huele a humo. {at} ¡¡esto es peligroso!!",
            "URGENTE: el estuche de mis {buds} empezó a echar humo dentro de la mochila. Mi hijo estaba justo al lado. {tag}",
            "La batería de mi {laptop} se está hinchando y el trackpad ya se levanta. ¿¿Puede explotar?? {neg}",
        ],
        // Spam
        &[
            "🔥 ¡¡El {phone} por solo 99 €!!! Oferta limitada, haz clic aquí: {spam} 🔥",
            "Gana 500 € al día desde casa 💰 Escríbeme por DM para más información {tag}",
            "¡Tarjetas regalo de Acme GRATIS para los primeros 100 seguidores! Regístrate en {spam}",
        ],
        // Chatter
        &[
            "¿Habéis visto la prueba de cámara del {rivalphone}? Es una locura lo que hacen los móviles hoy en día.",
            "¿Por qué todos los móviles de gama alta cuestan más de 1000 € ahora? Mi primer smartphone costó 300.",
            "{rival} saca auriculares nuevos con 40 horas de batería. El mercado está cada vez más saturado.",
        ],
    ],
    titles: [
        &[
            "Muy decepcionado",
            "Mala experiencia con Acme",
            "Nada contento",
        ],
        &[
            "Reembolso del pedido {order}",
            "Sigo esperando mi reembolso",
        ],
        &["¿Dónde está mi pedido {order}?", "Problema con la entrega"],
        &["Realmente impresionado", "Cinco estrellas, lo recomiendo"],
        &["Una pregunta rápida", "¿Alguien me puede ayudar?"],
        &["Necesito consejo antes de comprar", "¿Cuál me compro?"],
        &["URGENTE: problema de seguridad", "Esto es peligroso"],
        &["¡¡¡Has ganado un móvil GRATIS!!!", "La oferta del año"],
        &["¿Os habéis fijado?", "Reflexión tecnológica"],
    ],
    care: &[
        "Hola, {name}. Sentimos mucho lo ocurrido. ¿Nos envías tu número de pedido por DM para revisarlo ahora mismo? ^{agent}",
        "Hola, {name}. Gracias por escribirnos. He abierto el caso {case} y un especialista te contactará en menos de 24 horas. - {agent}",
        "Hola, {name}. Por favor, deja de usar el dispositivo y escríbenos por DM: organizamos el cambio de inmediato. ^{agent}",
        "Hola, {name}. He revisado el pedido {order}: ya está con la empresa de transporte y debería llegar en 2 días hábiles. ¡Perdona la espera! - {agent}",
    ],
    thanks: &[
        "¡Muchísimas gracias, {name}! Se lo pasamos a todo el equipo {pos} ^{agent}",
        "¡Qué alegría leer esto, {name}! Disfruta de tu nuevo dispositivo y escríbenos cuando quieras {pos}",
    ],
    sales: &[
        "¡Hola, {name}! El {phone} tiene la mejor batería de nuestra gama. Escríbenos por DM y te ayudamos a comparar. ^{agent}",
        "¡Buena pregunta, {name}! Si lo que más te importa es la cámara, te recomendamos el {phone}. Además, esta semana hay ofertas de recompra. ^{agent}",
    ],
    followups: &[
        "Os he mandado un DM con el pedido {order}.",
        "Sigo sin noticias. Ya van {days} días. Increíble.",
        "Gracias, el dispositivo de sustitución llegó hoy. ¡Genial!",
        "Vale, gracias. Espero la llamada.",
        "Eso ya lo hice dos veces. ¿Puedo hablar con una persona de verdad?",
    ],
    news: &[
        (
            "Acme retira algunos {phone} por riesgo de sobrecalentamiento",
            "Acme ha anunciado la retirada voluntaria de un pequeño lote de {phone} después de que varios clientes informaran de sobrecalentamiento durante la carga. Los propietarios pueden comprobar su número de serie en la web de Acme.",
        ),
        (
            "Análisis de los {buds}: gran cancelación de ruido, batería justa",
            "Los {buds} destacan por su excelente cancelación activa de ruido y un sonido equilibrado, aunque su autonomía de unas seis horas se queda en la media.",
        ),
        (
            "{rival} baja sus precios ante la desaceleración del mercado",
            "El fabricante {rival} rebajará hasta un 15 % el precio de sus móviles de gama alta. Los analistas creen que Acme tendrá que seguirle.",
        ),
    ],
    greeting: "Hola:",
    closing: "Saludos,",
    reply_prefix: "RE: ",
};
