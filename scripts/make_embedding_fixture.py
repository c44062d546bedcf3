#!/usr/bin/env python3
"""Writes the reference fixtures for the embedding model (run by hand, not in CI).

It needs a virtualenv with `sentence-transformers` (which pulls torch), `tokenizers`, `onnx`,
`onnxscript` and `onnxruntime`, and the model directory that `scripts/setup.sh` unpacks:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install sentence-transformers tokenizers \
        onnx onnxscript onnxruntime
    /tmp/ref/bin/python scripts/make_embedding_fixture.py [MODEL_DIR]

Outputs (committed, except the ONNX export):
- crates/embed/tests/fixtures/minilm_reference.json: sentence-transformers' embeddings of a
  varied set of texts (short and long past 256 tokens, punctuation, numbers, code, URLs, several
  scripts, emoji, whitespace, a single character), as little-endian f32 in base64, with each
  text's token ids as the model saw them (truncated to 256).
- crates/embed/tests/fixtures/wordpiece_reference.json: the `tokenizers` library's ids for a
  larger generated corpus (no truncation), the oracle for our own WordPiece.
- MODEL_DIR/model.onnx: an fp32 ONNX export of the same weights (for the onnxruntime benchmark).
"""

import base64
import json
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "embed", "tests", "fixtures")


def model_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    return os.environ.get(
        "EDGENET_MODEL_DIR", os.path.join(cache, "edgenet", "models", "all-MiniLM-L6-v2")
    )


HAND_WRITTEN = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "How do I reset my password?",
    "Where can I find the nearest train station?",
    "Translate this contract into German before Friday.",
    "Summarize the quarterly revenue report for the board.",
    "An agent that books flights and hotels for business travel.",
    "An agent that writes SQL queries against a data warehouse.",
    "An agent that reviews pull requests for security issues.",
    "An agent that transcribes meetings and extracts action items.",
    "Find me a vegetarian restaurant open after 10pm.",
    "I love this product, it works perfectly!",
    "This is the worst customer service I have ever experienced.",
    "It's fine, I guess. Nothing special.",
    "Don't you think it's a bit late?",
    "e-mail, co-operate, well-known, state-of-the-art",
    "U.S.A. vs. U.K.: a comparison (2024 edition).",
    "!!!???...",
    "...",
    "#hashtag @mention $100 %50 ^caret &and *star",
    "\"Quoted text\" and 'single quotes' and `backticks`",
    "3.14159 2.71828 1.41421 6.02214076e23",
    "1234567890",
    "Order #4521 shipped on 2026-11-30 at 14:05 UTC, total $1,299.99.",
    "Call +1 (555) 012-3456 or +44 20 7946 0958.",
    "The answer is 42.",
    "IPv4 192.168.0.1 and IPv6 2001:db8::ff00:42:8329",
    "https://example.com/path/to/page?query=embedding&lang=en#section-2",
    "Visit http://www.edgenet.example/docs/api.html for the API reference.",
    "mailto:someone@example.org",
    "git clone https://github.com/rust-lang/rust.git && cd rust",
    "fn main() { println!(\"Hello, {}!\", name); }",
    "def add(a, b):\n    return a + b\n",
    "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
    "const x = await fetch(url).then(r => r.json());",
    "<div class=\"card\"><p>Hello</p></div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"ok\": true}}",
    "for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "x^2 + y^2 = z^2",
    "∑_{i=1}^{n} i = n(n+1)/2",
    "α β γ δ ε ζ η θ",
    "Café, naïve, résumé, façade, jalapeño, über, coöperate.",
    "Le renard brun rapide saute par-dessus le chien paresseux.",
    "Où est la bibliothèque ? Elle est fermée aujourd'hui.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Straße, Größe, Übermaß, Fußgängerübergang.",
    "El rápido zorro marrón salta sobre el perro perezoso.",
    "¿Dónde está el baño? ¡Muchas gracias!",
    "A rápida raposa marrom pula sobre o cão preguiçoso.",
    "La volpe marrone veloce salta sopra il cane pigro.",
    "De snelle bruine vos springt over de luie hond.",
    "Szybki brązowy lis przeskakuje nad leniwym psem.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Árvíztűrő tükörfúrógép.",
    "Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "敏捷的棕色狐狸跳过了懒狗。",
    "我喜欢在周末读书和喝茶。",
    "機械学習は人工知能の一分野です。",
    "こんにちは、世界！ひらがなとカタカナ。",
    "東京は日本の首都です。",
    "빠른 갈색 여우가 게으른 개를 뛰어넘습니다.",
    "안녕하세요, 만나서 반갑습니다.",
    "الثعلب البني السريع يقفز فوق الكلب الكسول.",
    "مرحبا بالعالم",
    "השועל החום המהיר קופץ מעל הכלב העצלן.",
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
    "नमस्ते दुनिया",
    "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ",
    "ক্ষিপ্র বাদামী শিয়াল অলস কুকুরের উপর দিয়ে লাফ দেয়।",
    "வேகமான பழுப்பு நரி",
    "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar.",
    "Nhanh chóng con cáo nâu nhảy qua con chó lười.",
    "Ṭhe ḟox ẉith ḍots",
    "I ❤️ pizza 🍕🍕🍕",
    "🚀 Launch day! 🎉🎉",
    "👩‍👩‍👧‍👦 family emoji with zero-width joiners",
    "👍🏽 thumbs up with a skin tone",
    "😀😃😄😁😆😅😂🤣",
    "🇫🇷 🇩🇪 🇯🇵 flags",
    "☃ ★ ♠ ♣ ♥ ♦ ✓ ✗",
    "a",
    "Z",
    "7",
    "?",
    "é",
    "中",
    "🙂",
    " ",
    "",
    "\t\n",
    "   leading and trailing spaces   ",
    "multiple     internal      spaces",
    "line one\nline two\r\nline three\ttabbed",
    "non\u00a0breaking\u2003em\u3000ideographic spaces",
    "zero\u200bwidth\u200cjoiner\u200dtext",
    "control\u0001chars\u0007here\u001f",
    "soft\u00adhyphen",
    "replacement \ufffd character",
    "[CLS] special [SEP] tokens [MASK] in text [PAD] [UNK]",
    "[cls] lowercase brackets",
    "ALL CAPS SHOUTING TEXT",
    "MiXeD CaSe WoRdS",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 120,
    "xq" * 70 + " then normal words",
    "antidisestablishmentarianism unbelievable reconsideration",
    "The Eiffel Tower is in Paris.",
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
    "The mitochondria is the powerhouse of the cell.",
    "Photosynthesis converts light energy into chemical energy.",
    "Water boils at 100 degrees Celsius at sea level.",
    "Neural networks learn representations from data.",
    "Vector databases store embeddings for similarity search.",
    "HNSW builds a navigable small-world graph for approximate search.",
    "Cosine similarity measures the angle between two vectors.",
    "WebAssembly runs at near-native speed in the browser.",
    "WebGPU exposes modern GPU compute to the web.",
    "Ed25519 signatures are fast and small.",
    "ChaCha20-Poly1305 is an authenticated encryption scheme.",
    "Bitcoin, Ethereum and other cryptocurrencies.",
    "Stock prices fell sharply after the announcement.",
    "The central bank raised interest rates by 25 basis points.",
    "She won the marathon in under three hours.",
    "The team scored in the final minute to win the cup.",
    "Preheat the oven to 180°C and bake for 25 minutes.",
    "Add two cups of flour, one egg and a pinch of salt.",
    "My cat sleeps all day on the windowsill.",
    "Dogs are loyal companions.",
    "It is raining cats and dogs.",
    "Time flies like an arrow; fruit flies like a banana.",
    "Colorless green ideas sleep furiously.",
    "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.",
    "To be, or not to be, that is the question.",
    "All that glitters is not gold.",
    "The meeting has been moved to 3 p.m. tomorrow.",
    "Please find attached the invoice for November.",
    "ERROR 500: Internal Server Error at /api/v1/users",
    "WARN [2026-12-01T13:50:04Z] connection reset by peer",
    "Traceback (most recent call last): File \"main.py\", line 1",
    "npm ERR! code ERESOLVE",
    "C:\\Users\\admin\\Documents\\report.docx",
    "/usr/local/bin/edgenet-node --relay wss://relay.example:443/ws",
    "0xDEADBEEF 0b1010 0o777",
    "SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "UUID 123e4567-e89b-12d3-a456-426614174000",
    "½ ¼ ¾ ⅓ ⅔ ² ³ ¹",
    "① ② ③ Ⅰ Ⅱ Ⅲ",
    "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ １２３",
    "ﬁ ﬂ ligatures",
    "Ωmega and ohm Ω and Å angstrom",
    "I'm, you're, he's, we've, they'd, can't, won't",
    "rock 'n' roll",
    "— em dash – en dash ‐ hyphen",
    "«guillemets» „Anführungszeichen“ “curly quotes”",
    "…ellipsis character",
    "©®™ symbols",
    "€ £ ¥ ₹ ₩ ₿ currencies",
    "H₂O and CO₂ and E=mc²",
    "résumé vs resume",
    "naïve vs naive",
    "What is the weather like in Reykjavík today?",
    "Recommend a book similar to The Hobbit.",
    "How many calories are in an avocado?",
    "Which programming language should I learn first?",
    "The patient reported mild chest pain and shortness of breath.",
    "Take two tablets twice daily with food.",
    "The court dismissed the appeal on procedural grounds.",
    "Tenant must give 30 days' written notice before moving out.",
    "Quantum entanglement links the states of two particles.",
    "Black holes emit Hawking radiation.",
    "The Great Wall of China is visible from low orbit, supposedly.",
    "Mount Everest is 8,849 metres tall.",
    "I need a plumber: the kitchen sink is leaking.",
    "Reset the router by holding the button for 10 seconds.",
    "Ich möchte einen Tisch für zwei Personen reservieren.",
    "Je voudrais un café au lait, s'il vous plaît.",
    "Vorrei prenotare una camera doppia.",
    "Eu gostaria de abrir uma conta bancária.",
    "Я хотел бы заказать такси до аэропорта.",
    "我想预订一张去上海的火车票。",
    "駅までの道を教えてください。",
    "공항까지 가는 버스가 있나요?",
    "Kiitos paljon avusta!",
    "Tack så mycket för hjälpen!",
    "Dziękuję bardzo za pomoc!",
]


def long_texts(rng):
    """Texts longer than 256 tokens (truncation) and some in the 100-200 token range."""
    words = (
        "network compute browser idle worker relay ledger credit verify result task vector "
        "embedding model layer attention token sentence shard replica collection search index "
        "query score rank match agent description quorum canary stake reward payment escrow "
        "the a of and to in is that for on with as by at from this be are was it an or"
    ).split()
    out = []
    for n_words in [90, 150, 200, 260, 320, 400, 600]:
        out.append(" ".join(rng.choice(words) for _ in range(n_words)) + ".")
    paragraph = (
        "EdgeNet lets a website add one script tag so that its visitors' browsers, with their "
        "consent, lend idle CPU and GPU time to a shared compute network. Work such as vector "
        "search, embeddings, small neural inference, encryption and quantization runs in Web "
        "Workers on WebAssembly or WebGPU, throttled so the page never stutters. "
    )
    out.append(paragraph * 4)
    out.append(paragraph * 8)
    out.append("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40)
    out.append("数据" * 300)
    out.append("🙂 " * 300)
    out.append(", ".join(str(rng.randint(0, 10**6)) for _ in range(200)))
    return out


def generated_texts(rng, n):
    """A varied corpus for the tokenizer: random mixes of words, scripts, digits, symbols."""
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\u00a0\u3000",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ",
        "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒ",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "αβγδεζηθικλμνξοπρστυφχψω",
        "的一是不了人我在有他这中大来上们为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里",
        "あいうえおかきくけこさしすせそアイウエオカキクケコ",
        "가나다라마바사아자차카타파하한국어",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
        "אבגדהוזחטיכלמנסעפצקרשת",
        "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं",
        "กขคงจฉชซญดตถทนบปผพฟมยรลวสหอฮะาิีึืุู",
        "😀🚀🎉❤️👍🏽🇫🇷🍕✓★∑∞≈≠←→",
        "\u0300\u0301\u0302\u0308\u030a\u0327\u200b\u200d\u00ad\ufffd\u0007",
        "ﬁﬂ½²³①Ⅳｆｕｌ",
    ]
    vocab_words = [
        "network", "embedding", "transformer", "unbelievable", "running", "jumped", "the",
        "international", "tokenization", "playing", "##ing", "[CLS]", "[SEP]", "[MASK]",
        "http://x.y/z?a=1", "e-mail", "can't", "U.S.", "3.14", "1,000", "naïve", "Straße",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.4:
                parts.append(rng.choice(vocab_words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 12))))
            parts.append(rng.choice([" ", " ", " ", "", "\n", ", ", "."]))
        out.append("".join(parts))
    # Words around WordPiece's 100-character limit.
    for length in [99, 100, 101, 150]:
        out.append("a" * length)
        out.append("é" * length)
    return out


def main():
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    directory = model_dir()
    rng = random.Random(20261201)
    texts = HAND_WRITTEN + long_texts(rng)
    assert len(texts) >= 200, len(texts)

    model = SentenceTransformer(directory, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    features = model.tokenize(texts)
    ids = []
    for row, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist()):
        ids.append([t for t, m in zip(row, mask) if m == 1])

    blob = b"".join(struct.pack("<f", float(x)) for row in vectors for x in row)
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "minilm_reference.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "model": "sentence-transformers/all-MiniLM-L6-v2",
                "max_seq_length": model.max_seq_length,
                "dim": int(vectors.shape[1]),
                "texts": texts,
                "token_ids": ids,
                "embeddings_f32le_base64": base64.b64encode(blob).decode(),
            },
            f,
            ensure_ascii=False,
        )

    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    corpus = texts + generated_texts(rng, 2500)
    encodings = tokenizer.encode_batch(corpus)
    with open(os.path.join(FIXTURES, "wordpiece_reference.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"texts": corpus, "ids": [e.ids for e in encodings]}, f, ensure_ascii=False
        )

    export_onnx(model, directory)
    print(f"{len(texts)} embeddings, {len(corpus)} tokenizations written to {FIXTURES}")


def export_onnx(model, directory):
    """fp32 ONNX of the transformer (token ids, mask → last hidden state), for onnxruntime."""
    import torch

    bert = model[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    path = os.path.join(directory, "model.onnx")
    torch.onnx.export(
        LastHiddenState(bert),
        (ids, mask),
        path,
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "seq"},
            "last_hidden_state": {0: "batch", 1: "seq"},
        },
        opset_version=17,
        dynamo=False,
    )
    print("ONNX export:", path)


if __name__ == "__main__":
    main()
