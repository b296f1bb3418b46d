"""Guardrails benchmark (issue 20): added latency, PII quality beside Presidio's stock analyzer, and the
quality of every offline detector, printed honestly.

    python bench/bench_guardrails.py [--runs 300] [--full-minilm]

1. Latency added by the shipped `default.yaml` policy (every offline filter on) to a 1 KB message (prose
   with an email address and a booking reference), after a warm-up: p50/p95/p99 over `--runs` calls, and
   the share of each filter. Goal: p95 < 10 ms. Also printed: the load average and CPU time per call
   (other processes on a shared machine stretch wall time).
2. PII on the shipped set (`data/pii_eval.jsonl`, 253 texts, 61 hard negatives): fmops' `pii.yaml`
   (Presidio recognizers + fmops' AWS recognizers, per-type score thresholds) beside Presidio's stock
   AnalyzerEngine (every predefined recognizer, default threshold 0, same offline NLP engine) in the same
   run; per type and micro-averaged. Goal: recall >= 0.95 at precision >= 0.95.
3. Each offline detector per category on the shipped evaluation set (`data/content_eval.jsonl`):
   content filters + prompt attack (MiniLM-static classifier; `--full-minilm` adds the six-layer MiniLM),
   the denied topic, contextual grounding, and the managed profanity list's false alarms on benign texts.
4. Contextual grounding on the shipped grounding set (`data/grounding_eval.jsonl`, 48 answers over 6
   sources: verbatim and paraphrased grounded answers, contradicted and invented facts, off-topic ones):
   the lexical scorer (`policies/grounding.yaml`), and with `--judge MODEL_SPEC` the LLM judge through
   that model (e.g. `hf/PATH/TO/MODEL`) at the same thresholds (GROUNDING 0.5, RELEVANCE 0.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from fmops.guardrails import load_policy
from fmops.guardrails._content import shipped_file
from fmops.guardrails._eval import (
    GuardrailEvaluation,
    LabelledText,
    evaluate_policy,
    found_entities,
    read_dataset,
    wilson,
)

POLICIES = Path(__file__).resolve().parents[1] / "src" / "fmops" / "guardrails" / "policies"
SENTENCES = [
    "Thanks for getting back to me about the order for the new office chairs.",
    "The delivery team said they could come on Thursday morning between nine and eleven.",
    "Could you confirm that the invoice will be sent to accounts@example.com instead of my address?",
    "We also need to change the booking BK-482913 because two people will be away that week.",
    "The meeting room on the third floor is free all afternoon, so we can unpack there.",
    "Please let me know whether the extended warranty covers the gas lifts and the armrests.",
    "Last time the boxes were left at the reception desk and nobody signed for them.",
    "I would also like a quote for six standing desks in the same colour as the chairs.",
    "Our budget for this quarter is tight, so a small discount would help a lot.",
    "Many thanks again for your patience with all these questions.",
]


def message_1kb() -> str:
    text = ""
    i = 0
    while len(text) < 1024:
        text += SENTENCES[i % len(SENTENCES)] + " "
        i += 1
    return text[:1024]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(runs: int) -> None:
    policy = load_policy(POLICIES / "default.yaml")
    text = message_1kb()
    for _ in range(20):
        policy.apply(text)
    parts = {
        "content + prompt attack": lambda: policy._check_content(text, "INPUT"),
        "denied topics": lambda: policy._check_topics(text),
        "word filters": lambda: policy._check_words(text),
        "sensitive information": lambda: policy._find_sensitive(text, "INPUT"),
    }
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        policy.apply(text)
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    print(
        f"== 1. latency added to a {len(text)}-character message, policy default.yaml (all offline filters)"
    )
    print(f"   load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"   wall ms: p50 {pct(wall, 0.5):.2f}  p95 {pct(wall, 0.95):.2f}  p99 {pct(wall, 0.99):.2f}"
        f"   (goal p95 < 10 ms: {'met' if pct(wall, 0.95) < 10 else 'NOT met'})"
    )
    print(
        f"   cpu ms per call (this process's CPU time, less sensitive to other processes): "
        f"p50 {statistics.median(cpu):.2f}  p95 {pct(cpu, 0.95):.2f}"
    )
    for name, fn in parts.items():
        times = []
        for _ in range(max(20, runs // 5)):
            w = time.perf_counter()
            fn()
            times.append((time.perf_counter() - w) * 1000)
        print(f"   {name:<25} p50 {pct(times, 0.5):.2f} ms  p95 {pct(times, 0.95):.2f} ms")


def _stock_presidio():  # type: ignore[no-untyped-def]
    """Presidio's AnalyzerEngine as shipped (all predefined recognizers), on the same offline NLP engine."""
    from fmops.guardrails._pii import get_pii_analyzer

    get_pii_analyzer()  # sets tldextract offline and saves the blank spaCy pipeline
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from fmops.core.settings import fmops_home

    folder = str(fmops_home() / "models" / "spacy-blank-en")
    engine = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": folder}]}
    ).create_engine()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


STOCK_TO_BEDROCK = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_DEBIT_CARD_NUMBER",
    "US_SSN": "US_SOCIAL_SECURITY_NUMBER",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "IBAN_CODE": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
}


def _pii_counts(records: list[LabelledText], found: list[list[tuple[str, str]]]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for record, hits in zip(records, found, strict=True):
        kinds = {e.type for e in record.entities} | {t for t, _ in hits}
        for kind in kinds:
            gold = [e.text for e in record.entities if e.type == kind]
            pred = [m for t, m in hits if t == kind]
            tp = sum(any(g in p or p in g for p in pred) for g in gold)
            fp = sum(not any(g in p or p in g for g in gold) for p in pred)
            row = counts.setdefault(kind, [0, 0, 0])
            row[0] += tp
            row[1] += fp
            row[2] += len(gold) - tp
    return counts


def pii() -> None:
    records = read_dataset(shipped_file("pii_eval.jsonl"))
    policy = load_policy(POLICIES / "pii.yaml")
    ours = [found_entities(policy.apply(r.text).response()) for r in records]
    stock = _stock_presidio()
    theirs = []
    for r in records:
        hits = []
        for x in stock.analyze(text=r.text, language="en"):
            hits.append(
                (STOCK_TO_BEDROCK.get(x.entity_type, "other: " + x.entity_type), r.text[x.start : x.end])
            )
        theirs.append(hits)
    a, b = _pii_counts(records, ours), _pii_counts(records, theirs)
    print(f"\n== 2. PII on the shipped set ({len(records)} texts): fmops pii.yaml | Presidio stock analyzer")
    print(f"   {'type':<36}{'P':>6}{'R':>6}   |{'P':>6}{'R':>6}")

    def pr(row: list[int]) -> tuple[str, str]:
        tp, fp, fn = row
        p = f"{tp / (tp + fp):.2f}" if tp + fp else "  -"
        r = f"{tp / (tp + fn):.2f}" if tp + fn else "  -"
        return p, r

    for kind in sorted(set(a) | set(b)):
        pa, ra = pr(a.get(kind, [0, 0, 0]))
        pb, rb = pr(b.get(kind, [0, 0, 0]))
        print(f"   {kind:<36}{pa:>6}{ra:>6}   |{pb:>6}{rb:>6}")
    for name, counts in (("fmops", a), ("Presidio stock", b)):
        tp = sum(v[0] for v in counts.values())
        fp = sum(v[1] for v in counts.values())
        fn = sum(v[2] for v in counts.values())
        p, r = wilson(tp, tp + fp), wilson(tp, tp + fn)
        print(
            f"   micro {name:<15} precision {p.value:.3f} [{p.low:.3f}, {p.high:.3f}]"
            f"  recall {r.value:.3f} [{r.low:.3f}, {r.high:.3f}]  (tp {tp}, fp {fp}, fn {fn})"
        )


def _print_eval(title: str, evaluation: GuardrailEvaluation) -> None:
    print(f"   {title}")
    for s in evaluation.scores:
        if s.kind != "category":
            continue
        f1 = "-" if s.f1.value is None else f"{s.f1.value:.2f}"
        print(
            f"     {s.name:<18} n={s.support:<3} P {s.precision.value if s.precision.value is not None else '-'!s:<6}"
            f" R {s.recall.value if s.recall.value is not None else '-'!s:<6} F1 {f1:<5}"
            f" FPR {s.fpr.value:.3f} [{s.fpr.low:.3f}, {s.fpr.high:.3f}]"
        )


def detectors(full_minilm: bool) -> None:
    records = read_dataset(shipped_file("content_eval.jsonl"))
    print(
        f"\n== 3. offline detectors on the shipped evaluation set ({len(records)} texts, written for fmops)"
    )
    policy = load_policy(POLICIES / "default.yaml")
    _print_eval(
        "default.yaml (MiniLM-static classifier, HIGH strength; topic; grounding; words):",
        evaluate_policy(policy, records),
    )
    if full_minilm:
        import yaml

        config = yaml.safe_load((POLICIES / "default.yaml").read_text())
        config["detectors"] = {"content": {"name": "minilm"}, "topics": {"name": "minilm"}}
        config["name"] = "default-full-minilm"
        path = Path(os.environ.get("TMPDIR", "/tmp")) / "fmops-bench-full-minilm.yaml"
        path.write_text(yaml.safe_dump(config))
        full = load_policy(path)
        evaluation = evaluate_policy(full, records)
        _print_eval(
            f"same with the six-layer MiniLM (p50 {evaluation.latency_ms_p50:.1f} ms, p95 "
            f"{evaluation.latency_ms_p95:.1f} ms per text):",
            evaluation,
        )
    words = load_policy(POLICIES / "default.yaml")._words
    benign = [r.text for r in records if not r.labels] + [
        r.text for r in read_dataset(shipped_file("pii_eval.jsonl"))
    ]
    alarms = sum(bool(words.find(t)) for t in benign)  # type: ignore[union-attr]
    rate = wilson(alarms, len(benign))
    print(
        f"   managed profanity list: {alarms} false alarms on {len(benign)} benign texts "
        f"(FPR {rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}])"
    )


def grounding(judge: str | None) -> None:
    import yaml

    records = read_dataset(shipped_file("grounding_eval.jsonl"))
    print(f"\n== 4. contextual grounding on the shipped grounding set ({len(records)} answers)")
    _print_eval(
        "lexical scorer (policies/grounding.yaml):",
        evaluate_policy(load_policy(POLICIES / "grounding.yaml"), records),
    )
    if judge:
        config = yaml.safe_load((POLICIES / "grounding.yaml").read_text())
        config["name"] = "grounding-judge"
        config["contextualGroundingPolicyConfig"]["filtersConfig"] = [
            {"type": "GROUNDING", "threshold": 0.5},
            {"type": "RELEVANCE", "threshold": 0.5},
        ]
        config["detectors"] = {"grounding": {"name": "judge", "args": {"model": judge}}}
        path = Path(os.environ.get("TMPDIR", "/tmp")) / "fmops-bench-grounding-judge.yaml"
        path.write_text(yaml.safe_dump(config))
        evaluation = evaluate_policy(load_policy(path), records)
        _print_eval(
            f"LLM judge {judge} (p50 {evaluation.latency_ms_p50:.0f} ms, p95 {evaluation.latency_ms_p95:.0f} ms "
            "per answer):",
            evaluation,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--full-minilm", action="store_true", help="also score the six-layer MiniLM")
    parser.add_argument("--judge", metavar="MODEL_SPEC", help="also score an LLM judge for grounding")
    args = parser.parse_args()
    latency(args.runs)
    pii()
    detectors(args.full_minilm)
    grounding(args.judge)


if __name__ == "__main__":
    main()
