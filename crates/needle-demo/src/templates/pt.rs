//! Portuguese (Brazilian). `{phone}` and `{laptop}` are masculine ("o celular", "o notebook"),
//! `{buds}` masculine plural ("os fones"); competitors are feminine ("a fabricante").

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "pt",
    given: &[
        n!("Ana"),
        n!("João", "Joao"),
        n!("Beatriz"),
        n!("Pedro"),
        n!("Mariana"),
        n!("Gabriel"),
        n!("Júlia", "Julia"),
        n!("Rafael"),
        n!("Larissa"),
        n!("Tiago"),
        n!("Camila"),
        n!("Lucas"),
    ],
    family: &[
        n!("Silva"),
        n!("Santos"),
        n!("Oliveira"),
        n!("Souza"),
        n!("Pereira"),
        n!("Costa"),
        n!("Rodrigues"),
        n!("Almeida"),
        n!("Ferreira"),
        n!("Carvalho"),
    ],
    order: NameOrder::GivenFamily,
    address: Address::Given,
    cities: &[
        city!("São Paulo", "BR"),
        city!("Rio de Janeiro", "BR"),
        city!("Belo Horizonte", "BR"),
        city!("Curitiba", "BR"),
        city!("Porto Alegre", "BR"),
        city!("Salvador", "BR"),
        city!("Recife", "BR"),
    ],
    mail_domains: &["uol.example", "bol.example", "gmail.example"],
    subreddits: &["brasil", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "A tela do meu {phone} trincou depois de uma única queda da mesa. Tem duas semanas de uso! Paguei R$ 7.000 nisso {neg} {at}",
            "Meus {buds} desconectam a cada dez minutos. Já resetei três vezes e nada. {at}",
            "Desde a última atualização do AcmeOS, meu {phone} trava em toda ligação. Não aguento mais {tag}",
            "O suporte só disse: \"É um problema conhecido, aguarde a atualização\". Isso foi há {days} dias.",
            "Fiquei 45 minutos esperando no atendimento e desligaram na minha cara. Pedido {order}. Pior atendimento da vida.",
        ],
        // Refund
        &[
            "Quero o reembolso do pedido {order}. O {phone} chegou com um pixel morto e não quero conserto.",
            "{at} Devolvi meus {buds} há {days} dias e até agora nada do reembolso. Quanto tempo isso demora?",
            "Cancelei minha assinatura do Acme Cloud e mesmo assim fui cobrado este mês. Quero meu dinheiro de volta {neg}",
        ],
        // Shipping
        &[
            "Meu pedido {order} está \"saiu para entrega\" há {days} dias. Cadê meu {phone}? {at}",
            "Comprei os {buds} no dia do lançamento e até agora sem código de rastreio. Mais alguém esperando em {city}? {tag}",
            "A entrega era pra terça e agora falaram que só semana que vem. Que raiva {neg}",
        ],
        // Praise
        &[
            "A câmera do {phone} é absurda. Tirei fotos ontem em {city} e todas parecem profissionais {pos} {tag}",
            "Valeu {at}! Trocaram minha tela em 20 minutos, sem enrolação. Isso que é atendimento {pos}",
            "Troquei a {rival} pelo {phone} e não me arrependo nem um pouco. O AcmeOS é muito fluido {pos}",
        ],
        // Question
        &[
            "O {phone} tem dual chip com eSIM? Não acho essa informação no site {q}",
            "{at} Como passo minhas fotos do Acme Cloud para um HD externo?",
            "Os {buds} funcionam com celular da {rival} ou só com aparelhos Acme? {q}",
        ],
        // Purchase
        &[
            "Tô pensando em comprar um celular novo, o que vocês recomendam? {phone} ou {rivalphone}? {q}",
            "Meu celular antigo tá morrendo. Vale a pena o {phone} ou espero o próximo modelo?",
            "Procuro um notebook pra faculdade. O {laptop} vale o preço? {q}",
        ],
        // Crisis
        &[
            "Meu {phone} esquentou muito carregando e a bateria pegou fogo! O quarto inteiro tá com cheiro de fumaça. {at} isso é perigoso!!",
            "URGENTE: o estojo dos meus {buds} começou a soltar fumaça dentro da mochila. Meu filho estava do lado. {tag}",
            "A bateria do meu {laptop} está estufando e o touchpad já está levantando. Isso pode explodir?? {neg}",
        ],
        // Spam
        &[
            "🔥 {phone} por apenas R$ 499!!! Oferta limitada, clique aqui: {spam} 🔥",
            "Ganhe R$ 500 por dia trabalhando de casa 💰 Me chama no DM {tag}",
            "Vale-presente Acme GRÁTIS para os 100 primeiros seguidores! Cadastre-se em {spam}",
        ],
        // Chatter
        &[
            "Viram o teste de câmera do {rivalphone}? Os celulares de hoje estão em outro nível.",
            "Por que todo celular topo de linha agora custa mais de R$ 7.000? Meu primeiro smartphone custou 800.",
            "A {rival} vai lançar fones novos com 40 horas de bateria. Esse mercado tá lotado.",
        ],
    ],
    titles: [
        &[
            "Muito decepcionado",
            "Experiência ruim com a Acme",
            "Nada satisfeito",
        ],
        &[
            "Reembolso do pedido {order}",
            "Ainda esperando meu reembolso",
        ],
        &["Cadê meu pedido {order}?", "Problema com a entrega"],
        &["Impressionado de verdade", "Cinco estrelas, recomendo"],
        &["Dúvida rápida", "Alguém pode ajudar?"],
        &["Preciso de conselho antes de comprar", "Qual eu compro?"],
        &["URGENTE: problema de segurança", "Isso é perigoso"],
        &["Você ganhou um celular GRÁTIS!!!", "A oferta do ano"],
        &["Vocês repararam nisso?", "Papo de tecnologia"],
    ],
    care: &[
        "Oi, {name}! Sentimos muito por isso. Pode mandar o número do pedido por DM para a gente verificar agora mesmo? ^{agent}",
        "Oi, {name}! Obrigado pelo contato. Abri o protocolo {case} e um especialista vai falar com você em até 24 horas. - {agent}",
        "Oi, {name}! Por favor, pare de usar o aparelho e chame a gente no DM. Vamos providenciar a troca imediatamente. ^{agent}",
        "Oi, {name}! Verifiquei o pedido {order}: ele já está com a transportadora e deve chegar em até 2 dias úteis. Desculpe a demora! - {agent}",
    ],
    thanks: &[
        "Muito obrigado, {name}! Vamos repassar para o time todo {pos} ^{agent}",
        "Que bom saber disso, {name}! Aproveite seu aparelho novo e conte com a gente {pos}",
    ],
    sales: &[
        "Oi, {name}! O {phone} tem a melhor bateria da nossa linha. Manda um DM que a gente ajuda a comparar. ^{agent}",
        "Ótima pergunta, {name}! Se câmera é prioridade, recomendamos o {phone}. E essa semana tem desconto na troca do seu usado. ^{agent}",
    ],
    followups: &[
        "Mandei DM com o pedido {order}.",
        "Até agora nada. Já são {days} dias. Absurdo.",
        "Obrigado, o aparelho novo chegou hoje. Show!",
        "Beleza, obrigado. Fico no aguardo da ligação.",
        "Já fiz isso duas vezes. Posso falar com uma pessoa de verdade?",
    ],
    news: &[
        (
            "Acme faz recall de unidades do {phone} por superaquecimento",
            "A Acme anunciou o recall voluntário de um pequeno lote do {phone} depois que clientes relataram superaquecimento durante o carregamento. Os donos podem consultar o número de série no site da Acme.",
        ),
        (
            "Review dos {buds}: ótimo cancelamento de ruído, bateria mediana",
            "Os {buds} se destacam pelo excelente cancelamento ativo de ruído e pelo som equilibrado, mas a autonomia de cerca de seis horas fica na média.",
        ),
        (
            "{rival} reduz preços com desaceleração do mercado de celulares",
            "A fabricante {rival} vai reduzir em até 15% os preços de seus celulares topo de linha. Analistas avaliam que a Acme terá de seguir o movimento.",
        ),
    ],
    greeting: "Olá,",
    closing: "Atenciosamente,",
    reply_prefix: "RE: ",
};
