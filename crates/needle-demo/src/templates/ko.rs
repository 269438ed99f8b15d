//! Korean. Every product name ends in a vowel when read aloud (폰 엑스, 버즈, 프로, 에어, 십사),
//! so the vowel forms of particles (가, 는, 를, 로) are right after `{phone}`, `{buds}` and
//! `{laptop}`; no particle is attached to `{order}`, `{rival}` or `{rivalphone}`.

use super::{Address, Lang, NameOrder, city, n};

pub(crate) static LANG: Lang = Lang {
    code: "ko",
    given: &[
        n!("민준", "minjun"),
        n!("서연", "seoyeon"),
        n!("지훈", "jihoon"),
        n!("하은", "haeun"),
        n!("도윤", "doyoon"),
        n!("지우", "jiwoo"),
        n!("예준", "yejun"),
        n!("수아", "sua"),
        n!("현우", "hyunwoo"),
        n!("지민", "jimin"),
        n!("유나", "yuna"),
        n!("태현", "taehyun"),
    ],
    family: &[
        n!("김", "kim"),
        n!("이", "lee"),
        n!("박", "park"),
        n!("최", "choi"),
        n!("정", "jung"),
        n!("강", "kang"),
        n!("조", "cho"),
        n!("윤", "yoon"),
        n!("장", "jang"),
        n!("임", "lim"),
    ],
    order: NameOrder::FamilyGivenTight,
    address: Address::Full,
    cities: &[
        city!("서울", "KR"),
        city!("부산", "KR"),
        city!("인천", "KR"),
        city!("대구", "KR"),
        city!("대전", "KR"),
        city!("광주", "KR"),
    ],
    mail_domains: &["naver.example", "daum.example", "gmail.example"],
    subreddits: &["korea", "AcmePhone"],
    bodies: [
        // Complaint
        &[
            "{phone} 산 지 2주밖에 안 됐는데 식탁에서 한 번 떨어뜨렸다고 화면이 깨졌어요. 백만 원 넘게 주고 산 건데 너무하네요 {neg} {at}",
            "{buds}가 10분마다 연결이 끊겨요. 초기화도 세 번이나 했는데 소용없어요. {at}",
            "AcmeOS 업데이트 이후로 통화할 때마다 {phone}가 멈춰요. 진짜 지칩니다 {tag}",
            "고객센터에서 45분 동안 기다렸는데 그냥 끊겼어요. 주문번호 {order}. 이런 서비스는 처음이네요.",
            "상담원이 \"알려진 문제라서 업데이트를 기다리셔야 합니다\"라고만 하더라고요. 그게 벌써 {days}일 전이에요.",
        ],
        // Refund
        &[
            "주문번호 {order} 환불 요청합니다. {phone}에 불량 화소가 있는 채로 왔고, 수리는 원하지 않아요.",
            "{at} {buds} 반품한 지 {days}일이 지났는데 아직도 환불이 안 됐어요. 얼마나 더 기다려야 하나요?",
            "Acme Cloud 구독을 해지했는데 이번 달에도 결제됐어요. 환불해 주세요 {neg}",
        ],
        // Shipping
        &[
            "주문번호 {order}, {days}일째 '배송 중' 상태예요. 제 {phone}는 어디 있나요? {at}",
            "출시일에 {buds} 주문했는데 아직도 송장번호가 안 나왔어요. {city}에서 기다리는 분 또 계신가요? {tag}",
            "화요일 도착 예정이라더니 갑자기 다음 주래요. 정말 답답하네요 {neg}",
        ],
        // Praise
        &[
            "{phone} 카메라 진짜 미쳤어요. 어제 {city}에서 야경 찍었는데 전부 작품이에요 {pos} {tag}",
            "{at} 감사합니다! 20분 만에 화면 교체해 주셨어요. 이게 진짜 고객 서비스죠 {pos}",
            "{rival}에서 {phone}로 갈아탔는데 후회 없어요. AcmeOS 정말 부드럽네요 {pos}",
        ],
        // Question
        &[
            "{phone}도 eSIM 듀얼심 되나요? 홈페이지에서 아무리 찾아도 안 나와요 {q}",
            "{at} Acme Cloud에 있는 사진을 외장 하드로 옮기려면 어떻게 해야 하나요?",
            "{buds}를 {rival} 폰에서도 쓸 수 있나요, 아니면 Acme 기기 전용인가요? {q}",
        ],
        // Purchase
        &[
            "새 폰 사려고 하는데 추천 좀 해주세요. {phone}랑 {rivalphone} 중에 뭐가 나을까요? {q}",
            "쓰던 폰이 슬슬 맛이 가요. {phone} 지금 사도 괜찮을까요, 아니면 다음 모델 기다릴까요?",
            "대학교에서 쓸 노트북 찾는 중인데 {laptop} 가격만큼 값어치 하나요? {q}",
        ],
        // Crisis
        &[
            "충전하다가 {phone}가 엄청 뜨거워지더니 배터리에서 불이 났어요! 방 전체에 탄 냄새가 나요. {at} 이거 정말 위험합니다!!",
            "긴급: 가방 안에서 {buds} 충전 케이스에서 연기가 났어요. 아이가 바로 옆에 있었어요. {tag}",
            "{laptop} 배터리가 부풀어서 트랙패드가 들려 올라왔어요. 이거 폭발하는 거 아니에요?? {neg}",
        ],
        // Spam
        &[
            "🔥 {phone} 단돈 99,000원!!! 한정 수량, 지금 바로 클릭 {spam} 🔥",
            "집에서 하루 50만 원 버는 법 💰 자세한 건 DM 주세요 {tag}",
            "선착순 100명 Acme 기프트카드 무료 증정! 여기서 신청하세요 {spam}",
        ],
        // Chatter
        &[
            "{rivalphone} 카메라 테스트 보셨어요? 요즘 폰 성능 진짜 말도 안 돼요.",
            "요즘 플래그십 폰은 왜 다 150만 원이 넘죠? 첫 스마트폰은 40만 원이었는데.",
            "{rival}에서 배터리 40시간짜리 이어폰이 나온대요. 무선 이어폰 시장도 이제 포화네요.",
        ],
    ],
    titles: [
        &["2주 만에 화면 파손", "너무 실망했어요"],
        &["주문번호 {order} 환불 요청", "아직도 환불 대기 중"],
        &["주문번호 {order} 배송 문의", "배송이 또 지연됐어요"],
        &["인생 폰입니다", "별 다섯 개, 강력 추천"],
        &["{product} 관련 질문", "Acme Cloud 백업 방법?"],
        &["어떤 폰을 살까요?", "{phone} vs {rivalphone}"],
        &["배터리에서 불이 났어요!", "안전 문제: 기기 과열"],
        &["무료 스마트폰 당첨!!!", "올해 최고의 특가"],
        &["폰 가격 너무 비싸졌어요", "{rival} 신형 이어폰"],
    ],
    care: &[
        "{name}님, 불편을 드려 정말 죄송합니다. 주문번호를 DM으로 보내주시면 바로 확인해 드리겠습니다. ^{agent}",
        "{name}님, 문의 감사합니다. 접수번호 {case}로 등록했으며 24시간 이내에 담당자가 연락드리겠습니다. - {agent}",
        "{name}님, 해당 기기는 더 이상 사용하지 마시고 DM 부탁드립니다. 즉시 교환을 도와드리겠습니다. ^{agent}",
        "{name}님, 주문번호 {order} 확인해 보니 택배사에 인계되어 영업일 기준 2일 이내 도착 예정입니다. 기다리게 해서 죄송합니다! - {agent}",
    ],
    thanks: &[
        "{name}님, 정말 감사합니다! 팀에도 꼭 전달할게요 {pos} ^{agent}",
        "좋게 봐주셔서 감사해요, {name}님! 새 기기와 즐거운 시간 보내세요 {pos}",
    ],
    sales: &[
        "{name}님, 안녕하세요! {phone}는 저희 라인업 중 배터리가 가장 오래갑니다. DM 주시면 비교해 드릴게요. ^{agent}",
        "좋은 질문이에요, {name}님! 카메라가 가장 중요하시다면 {phone}를 추천드려요. 이번 주에는 보상판매 행사도 진행 중입니다. ^{agent}",
    ],
    followups: &[
        "주문번호 {order} DM으로 보냈어요.",
        "아직도 아무 소식이 없어요. 벌써 {days}일째예요.",
        "감사합니다, 교환 기기 오늘 잘 받았어요!",
        "네, 감사합니다. 연락 기다릴게요.",
        "그거 벌써 두 번이나 해봤어요. 상담원이랑 직접 통화할 수 있을까요?",
    ],
    news: &[
        (
            "Acme, 과열 문제로 {phone} 일부 리콜",
            "Acme는 충전 중 과열 신고가 잇따르자 {phone} 일부 물량에 대해 자발적 리콜을 발표했다. 사용자는 Acme 홈페이지에서 일련번호를 확인할 수 있다.",
        ),
        (
            "{buds} 리뷰: 노이즈 캔슬링은 최고, 배터리는 아쉬워",
            "{buds}는 뛰어난 노이즈 캔슬링과 균형 잡힌 음질로 호평을 받았다. 다만 약 6시간의 배터리 사용 시간은 평범한 수준이다.",
        ),
        (
            "{rival}, 스마트폰 시장 둔화에 가격 인하",
            "제조사 {rival} 측은 수요 둔화에 대응해 프리미엄 스마트폰 가격을 최대 15% 인하한다고 밝혔다. 업계에서는 Acme도 뒤따를 것으로 보고 있다.",
        ),
    ],
    greeting: "안녕하세요,",
    closing: "감사합니다.",
    reply_prefix: "Re: ",
};
