"""Generate a synthetic Turkish/English corpus of N sentence chunks for the scale benchmarks.

    .venv/bin/python bench/gen_corpus.py --chunks 1000                 # -> bench/out/corpora/n1000
    .venv/bin/python bench/gen_corpus.py --chunks 10000 --out /tmp/c10k

Each .txt file holds ~50 sentences (paragraphs of 5), one language per file (alternately
Turkish and English), with an occasional sentence in the other language (10%). Sentences are
built from word lists with a fixed seed: 60-200 characters, each ending with a period, no
other period inside, so Kaynak (one chunk per sentence) makes exactly N chunks of them. The
bundled article (corpus/canada-japan-intelligence-talks.tr.txt and its .meta.toml) is copied
in too, so the question sets still have their answers: the folder holds N synthetic chunks
plus the article's. Nothing in the word lists names a person, place or thing the questions
ask about. A hidden .manifest.json records what was generated; a folder whose manifest
matches the request is reused as it is.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ARTICLE, CORPUS, OUT, rel

GENERATOR_VERSION = 1
MIN_CHARS, MAX_CHARS = 60, 200

# --- English -------------------------------------------------------------------------------

EN_SUBJECTS = [
    "The city council",
    "A local farmer",
    "The new museum director",
    "Several engineers",
    "The football club",
    "A group of students",
    "The regional hospital",
    "Two young architects",
    "The harbour authority",
    "A small bakery",
    "The teachers' union",
    "The national library",
    "A team of volunteers",
    "The water company",
    "Local fishermen",
    "The university choir",
    "A retired pilot",
    "The railway operator",
    "The chamber of commerce",
    "Most shop owners",
    "The district court",
    "A well-known chef",
    "The weather service",
    "The tourism board",
    "An independent studio",
    "The cycling federation",
    "Some residents",
    "The port workers",
]
EN_VERBS = [
    "announced",
    "reviewed",
    "postponed",
    "celebrated",
    "criticised",
    "presented",
    "approved",
    "rejected",
    "discussed",
    "completed",
    "started",
    "opened",
    "defended",
    "questioned",
    "welcomed",
    "published",
    "tested",
    "extended",
    "cancelled",
    "planned",
    "described",
]
EN_OBJECTS = [
    "the annual budget",
    "a plan for cheaper public transport",
    "the renovation of the old bridge",
    "a new recycling programme",
    "the results of the harvest",
    "an exhibition of ceramic art",
    "the timetable for the summer season",
    "a proposal to plant more trees",
    "the report on air quality",
    "a festival of street music",
    "the expansion of the bike lanes",
    "a study on rising rents",
    "the repairs to the town hall roof",
    "a course for young coders",
    "the new opening hours",
    "a campaign against food waste",
    "the results of the survey",
    "a scheme to restore the river banks",
    "the design of the new stadium",
    "a series of free concerts",
    "the rules for street parking",
    "a market for local produce",
]
EN_PLACES = [
    "in Izmir",
    "in Lyon",
    "near the harbour",
    "in the old town",
    "at the central station",
    "in Porto",
    "in Graz",
    "in Tampere",
    "in Bursa",
    "on the east bank",
    "in the valley",
    "at the exhibition centre",
    "in Konya",
    "in the northern suburbs",
    "in Trabzon",
    "at the community hall",
    "in Ghent",
    "by the lake",
    "in Eskisehir",
    "in Bologna",
]
EN_TIMES = [
    "on Monday",
    "last week",
    "earlier this year",
    "after a long debate",
    "on Friday evening",
    "this morning",
    "at the end of the month",
    "during the spring",
    "after months of delays",
    "before the holidays",
    "on Tuesday afternoon",
    "late last night",
    "for the third time",
]
EN_LINKS = ["while", "and", "because", "although", "after", "as", "even though", "so"]
EN_TAILS = [
    "officials said the work would take several months",
    "many people came to see it",
    "the decision surprised some observers",
    "the costs turned out to be lower than expected",
    "critics asked for more public consultation",
    "the organisers hope to repeat it next year",
    "the local newspaper covered it on its front page",
    "nobody expected such a large turnout",
    "the plan still needs final approval",
    "the weather was unusually warm for the season",
]

# --- Turkish -------------------------------------------------------------------------------

TR_SUBJECTS = [
    "Belediye meclisi",
    "Yerel bir çiftçi",
    "Yeni müze müdürü",
    "Birkaç mühendis",
    "Futbol kulübü",
    "Bir grup öğrenci",
    "Bölge hastanesi",
    "İki genç mimar",
    "Liman idaresi",
    "Küçük bir fırın",
    "Öğretmenler sendikası",
    "Milli kütüphane",
    "Gönüllülerden oluşan ekip",
    "Su idaresi",
    "Yerel balıkçılar",
    "Üniversite korosu",
    "Emekli bir pilot",
    "Demiryolu işletmesi",
    "Ticaret odası",
    "Esnafın çoğu",
    "İlçe mahkemesi",
    "Tanınmış bir aşçı",
    "Meteoroloji servisi",
    "Turizm kurulu",
    "Bağımsız bir stüdyo",
    "Bisiklet federasyonu",
    "Bazı mahalle sakinleri",
    "Liman işçileri",
]
TR_TIMES = [
    "pazartesi günü",
    "geçen hafta",
    "bu yılın başında",
    "uzun bir tartışmanın ardından",
    "cuma akşamı",
    "bu sabah",
    "ay sonunda",
    "ilkbaharda",
    "aylarca süren gecikmelerin ardından",
    "tatilden önce",
    "salı öğleden sonra",
    "dün gece geç saatte",
    "üçüncü kez",
]
TR_PLACES = [
    "İzmir'de",
    "Lyon'da",
    "liman yakınında",
    "eski şehirde",
    "merkez istasyonda",
    "Porto'da",
    "Graz'da",
    "Tampere'de",
    "Bursa'da",
    "doğu yakasında",
    "vadide",
    "fuar merkezinde",
    "Konya'da",
    "kuzey banliyölerinde",
    "Trabzon'da",
    "mahalle salonunda",
    "Gent'te",
    "göl kenarında",
    "Eskişehir'de",
    "Bologna'da",
]
TR_OBJECTS = [
    "yıllık bütçeyi",
    "daha ucuz toplu taşıma planını",
    "eski köprünün yenilenmesini",
    "yeni geri dönüşüm programını",
    "hasat sonuçlarını",
    "seramik sanatı sergisini",
    "yaz sezonunun tarifesini",
    "daha fazla ağaç dikme önerisini",
    "hava kalitesi raporunu",
    "sokak müziği festivalini",
    "bisiklet yollarının genişletilmesini",
    "artan kiralar üzerine yapılan çalışmayı",
    "belediye binasının çatı onarımını",
    "genç yazılımcılar için açılan kursu",
    "yeni çalışma saatlerini",
    "gıda israfına karşı kampanyayı",
    "anket sonuçlarını",
    "nehir kıyılarını onarma projesini",
    "yeni stadyumun tasarımını",
    "ücretsiz konserler dizisini",
    "sokakta park kurallarını",
    "yerel ürünler pazarını",
]
TR_VERBS = [
    "açıkladı",
    "inceledi",
    "erteledi",
    "kutladı",
    "eleştirdi",
    "sundu",
    "onayladı",
    "reddetti",
    "tartıştı",
    "tamamladı",
    "başlattı",
    "savundu",
    "sorguladı",
    "memnuniyetle karşıladı",
    "yayımladı",
    "test etti",
    "uzattı",
    "iptal etti",
    "planladı",
    "anlattı",
]
TR_LINKS = ["ve", "ancak", "bu sırada", "üstelik", "buna karşın", "öte yandan", "ayrıca"]
TR_TAILS = [
    "yetkililer çalışmaların birkaç ay süreceğini söyledi",
    "etkinliği görmek için pek çok kişi geldi",
    "karar bazı gözlemcileri şaşırttı",
    "maliyetler beklenenden düşük çıktı",
    "eleştirmenler daha fazla kamuoyu danışması istedi",
    "organizatörler etkinliği gelecek yıl tekrarlamayı umuyor",
    "yerel gazete konuyu birinci sayfadan verdi",
    "kimse bu kadar yoğun bir katılım beklemiyordu",
    "planın hâlâ son onaya ihtiyacı var",
    "hava mevsime göre alışılmadık derecede sıcaktı",
]


def _en_clause(rng: random.Random) -> str:
    return (
        f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} {rng.choice(EN_OBJECTS)} "
        f"{rng.choice(EN_PLACES)} {rng.choice(EN_TIMES)}"
    )


def _tr_clause(rng: random.Random) -> str:
    return (
        f"{rng.choice(TR_SUBJECTS)} {rng.choice(TR_TIMES)} {rng.choice(TR_PLACES)} "
        f"{rng.choice(TR_OBJECTS)} {rng.choice(TR_VERBS)}"
    )


def sentence(rng: random.Random, language: str) -> str:
    """One sentence of MIN_CHARS-MAX_CHARS characters ending with a period."""
    clause, links, tails = (
        (_en_clause, EN_LINKS, EN_TAILS) if language == "en" else (_tr_clause, TR_LINKS, TR_TAILS)
    )
    target = rng.randint(MIN_CHARS, MAX_CHARS)
    text = clause(rng)
    while len(text) < target:
        nxt = clause(rng) if rng.random() < 0.5 else rng.choice(tails)
        nxt = nxt[0].lower() + nxt[1:]
        candidate = f"{text}, {rng.choice(links)} {nxt}"
        if len(candidate) + 1 > MAX_CHARS:
            break
        text = candidate
    if len(text) + 1 < MIN_CHARS:  # a short clause and no room for a whole one: pad a tail
        text = f"{text}, {rng.choice(links)} {rng.choice(tails)}"
    text = text[: MAX_CHARS - 1].rstrip(" ,")
    return text[0].upper() + text[1:] + "."


def generate(
    n_chunks: int,
    out_dir: str | Path | None = None,
    per_file: int = 50,
    seed: int = 0,
    include_article: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Write the corpus (or reuse a matching one); return its manifest."""
    if n_chunks < 1:
        raise ValueError("n_chunks must be at least 1")
    out = Path(out_dir) if out_dir else OUT / "corpora" / f"n{n_chunks}"
    wanted = {
        "generator_version": GENERATOR_VERSION,
        "synthetic_chunks": n_chunks,
        "sentences_per_file": per_file,
        "seed": seed,
        "include_article": include_article,
    }
    manifest_path = out / ".manifest.json"
    if manifest_path.is_file() and not force:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            manifest = {}
        if all(manifest.get(k) == v for k, v in wanted.items()):
            manifest["reused"] = True
            manifest["path"] = str(out)
            return manifest
    if out.exists():
        # Only ever delete a folder this script wrote (it has our manifest or is empty).
        if manifest_path.exists() or not any(out.iterdir()):
            shutil.rmtree(out)
        else:
            raise SystemExit(
                f"{out} exists and was not written by gen_corpus.py; choose another --out"
            )
    out.mkdir(parents=True)

    started = time.perf_counter()
    rng = random.Random(seed)
    files = sentences = total_bytes = 0
    by_language = {"tr": 0, "en": 0}
    lengths: list[int] = []
    n_files = (n_chunks + per_file - 1) // per_file
    for f in range(n_files):
        count = min(per_file, n_chunks - f * per_file)
        primary = "tr" if f % 2 == 0 else "en"
        other = "en" if primary == "tr" else "tr"
        paragraphs, para = [], []
        for _ in range(count):
            lang = other if rng.random() < 0.1 else primary
            s = sentence(rng, lang)
            by_language[lang] += 1
            lengths.append(len(s))
            para.append(s)
            if len(para) == 5:
                paragraphs.append(" ".join(para))
                para = []
        if para:
            paragraphs.append(" ".join(para))
        data = ("\n\n".join(paragraphs) + "\n").encode("utf-8")
        (out / f"synth-{f:06d}.{primary}.txt").write_bytes(data)
        files += 1
        sentences += count
        total_bytes += len(data)

    if include_article:
        for name in (f"{ARTICLE}.txt", f"{ARTICLE}.meta.toml"):
            shutil.copy2(CORPUS / name, out / name)
            total_bytes += (out / name).stat().st_size if name.endswith(".txt") else 0

    manifest = {
        **wanted,
        "files": files + (1 if include_article else 0),
        "synthetic_files": files,
        "sentences_by_language": by_language,
        "sentence_chars": {
            "min": min(lengths),
            "max": max(lengths),
            "mean": round(sum(lengths) / len(lengths), 1),
        },
        "text_bytes": total_bytes,
        "generate_seconds": round(time.perf_counter() - started, 2),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {**manifest, "reused": False, "path": str(out)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chunks", "-n", type=int, required=True, help="synthetic sentences (chunks)")
    p.add_argument("--out", help="output folder (default bench/out/corpora/n<CHUNKS>)")
    p.add_argument("--per-file", type=int, default=50, help="sentences per file (default 50)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-article", action="store_true", help="do not copy the bundled article")
    p.add_argument(
        "--force", action="store_true", help="regenerate even if a matching folder exists"
    )
    args = p.parse_args()
    m = generate(args.chunks, args.out, args.per_file, args.seed, not args.no_article, args.force)
    print(
        f"{'reused' if m['reused'] else 'wrote'} {rel(m['path'])}: {m['files']} files, "
        f"{m['synthetic_chunks']} synthetic sentences (tr {m['sentences_by_language']['tr']}, "
        f"en {m['sentences_by_language']['en']}, {m['sentence_chars']['min']}-"
        f"{m['sentence_chars']['max']} chars, mean {m['sentence_chars']['mean']}), "
        f"{m['text_bytes'] / 1e6:.2f} MB of text"
        + ("" if args.no_article else ", plus the bundled article")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
