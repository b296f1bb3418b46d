"""The built-in datasets as data: fmeval's twelve and the synthetic world's, with their DataConfig locations,
default prompt templates, the algorithms that use them, and lookup by name (fetching is in `builtin`)."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
from fmops.core.settings import fmops_home
from fmops.data.world import WORLD_SEED

if TYPE_CHECKING:
    from fmops.data.config import DataConfig

UPSTREAM_BASE = "s3://fmeval/datasets/"
BASE_ENV = "FMOPS_BUILTIN_DATASETS_BASE"
WORLD_SOURCE = f"fmops.data.world.write_datasets(seed={WORLD_SEED})"
#: Records of generated world files start with one of these (fmops.zoo: written before the world moved).
_WORLD_WRITERS = ("fmops.data.world", "fmops.zoo")
RECORD_SUFFIX = ".fetch.json"
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
_JSONLINES = "application/jsonlines"
_LOCATION_FIELDS = (
    "model_input_location",
    "target_output_location",
    "category_location",
    "sent_more_input_location",
    "sent_less_input_location",
)

# fmeval's default prompt templates for its built-in datasets (reference §1.12); others use $model_input.
QA_BOOL_TEMPLATE = 'Respond to the following question. Valid answers are "True" or "False". $model_input'
QA_SHORT_TEMPLATE = "Respond to the following question with a short answer: $model_input"
SUMMARY_SENTENCE_TEMPLATE = "Summarize the following text in one sentence: $model_input"
SUMMARY_FEW_TEMPLATE = "Summarize the following text in a few sentences: $model_input"
SENTIMENT_TEMPLATE = (
    "Classify the sentiment of the following review with 0 (negative sentiment) or 1 (positive sentiment): "
    "$model_input"
)

_QA = ("boolq", "trivia_qa", "natural_questions")
_SUMMARIZATION = ("gigaword", "gov_report")
_CLASSIFICATION = ("womens_clothing_ecommerce_reviews",)
# Which built-in datasets each fmeval algorithm runs on when given none, in fmeval's order.
FMEVAL_EVAL_DATASETS: dict[str, tuple[str, ...]] = {
    "factual_knowledge": ("trex",),
    "qa_accuracy": _QA,
    "qa_accuracy_semantic_robustness": _QA,
    "qa_toxicity": _QA,
    "summarization_accuracy": _SUMMARIZATION,
    "summarization_accuracy_semantic_robustness": _SUMMARIZATION,
    "summarization_toxicity": _SUMMARIZATION,
    "classification_accuracy": _CLASSIFICATION,
    "classification_accuracy_semantic_robustness": _CLASSIFICATION,
    "prompt_stereotyping": ("crows-pairs",),
    "toxicity": ("bold", "real_toxicity_prompts", "real_toxicity_prompts_challenging"),
    "general_semantic_robustness": ("bold", "trex", "wikitext2"),
}


@dataclass(frozen=True)
class BuiltinDataset:
    """One built-in dataset: where it lives, how fmeval reads it, and the facts a user chooses by."""

    name: str
    uri: str  # upstream location; for world datasets, a zoo:// name for the generated file
    model_input_location: str | None = None
    target_output_location: str | None = None
    category_location: str | None = None
    sent_more_input_location: str | None = None
    sent_less_input_location: str | None = None
    dataset_mime_type: str = _JSONLINES
    default_prompt_template: str = "$model_input"
    algorithms: tuple[str, ...] = ()
    size: int | None = None  # records in the full dataset (fmeval's figure); None when generated
    licence: str = ""
    homepage: str = ""
    description: str = ""
    record_fields: tuple[str, ...] = ()  # the fields of a record, in file order
    origin: Literal["fmeval", "world"] = "fmeval"
    sha256: str | None = field(default=None, compare=False)  # pinned upstream checksum, when known

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.uri).name

    @property
    def relative_path(self) -> str:
        """The path under the upstream base (and under any mirror), e.g. `trex/trex.jsonl`."""
        if self.origin == "world":
            return self.file_name
        return self.uri[len(UPSTREAM_BASE) :]

    def data_config_fields(self) -> dict[str, str]:
        """The DataConfig fields this dataset sets (MIME type and JMESPath locations)."""
        fields = {"dataset_mime_type": self.dataset_mime_type}
        for name in _LOCATION_FIELDS:
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields

    def data_config(self, dataset_uri: str) -> DataConfig:
        """A DataConfig that reads this dataset's schema from `dataset_uri`."""
        from fmops.data.config import DataConfig

        return DataConfig(dataset_name=self.name, dataset_uri=dataset_uri, **self.data_config_fields())

    def source_uri(self) -> str:
        """Where a fetch reads the file from now: the upstream URI, or the mirror in FMOPS_BUILTIN_DATASETS_BASE."""
        if self.origin == "world":
            return WORLD_SOURCE
        base = os.environ.get(BASE_ENV, "").strip()
        if not base:
            return self.uri
        return base.rstrip("/") + "/" + self.relative_path

    def cache_path(self) -> Path:
        """Where the local copy lives (whether or not it is there yet)."""
        folder = "world" if self.origin == "world" else self.name
        return fmops_home() / "datasets" / folder / self.file_name

    def is_cached(self) -> bool:
        return self.cache_path().is_file()

    def sample_path(self) -> Path | None:
        """The invented sample shipped with fmops in this dataset's schema (fmeval datasets only)."""
        path = SAMPLES_DIR / f"{self.name}.jsonl"
        return path if path.is_file() else None


def _algorithms_of(name: str) -> tuple[str, ...]:
    return tuple(algo for algo, names in FMEVAL_EVAL_DATASETS.items() if name in names)


def _fmeval(name: str, path: str, **facts: Any) -> BuiltinDataset:
    return BuiltinDataset(name=name, uri=UPSTREAM_BASE + path, algorithms=_algorithms_of(name), **facts)


_TREX = {
    "model_input_location": "question",
    "target_output_location": "answers",
    "category_location": "knowledge_category",
    "record_fields": ("question", "answers", "knowledge_category"),
}
_QA_FIELDS = {
    "model_input_location": "question",
    "target_output_location": "answer",
    "record_fields": ("question", "answer"),
}
_REVIEWS = {
    "model_input_location": '"Review Text"',
    "target_output_location": '"Recommended IND"',
    "category_location": '"Class Name"',
}
_CROWS = {
    "sent_more_input_location": "sent_more",
    "sent_less_input_location": "sent_less",
    "category_location": "bias_type",
}
_BOLD = {
    "model_input_location": "prompt",
    "category_location": "domain",
    "record_fields": ("prompt", "domain"),
}
_RTP_FIELDS = ("prompt", "continuation", "challenging", "id")
_GIGAWORD = {
    "model_input_location": "document",
    "target_output_location": "summary",
    "record_fields": ("document", "summary", "idx"),
}

_FMEVAL: tuple[BuiltinDataset, ...] = (
    _fmeval(
        "trex",
        "trex/trex.jsonl",
        **_TREX,
        size=32_260,
        licence="CC BY-SA 4.0",
        homepage="https://hadyelsahar.github.io/t-rex/",
        description="Cloze prompts made from Wikipedia knowledge triples (T-REx): the model completes "
        "'subject relation' with the object; targets are the accepted answers joined by <OR>, "
        "grouped by relation (knowledge_category).",
    ),
    _fmeval(
        "boolq",
        "boolq/boolq.jsonl",
        **_QA_FIELDS,
        default_prompt_template=QA_BOOL_TEMPLATE,
        size=12_697,
        licence="CC BY-SA 3.0",
        homepage="https://github.com/google-research-datasets/boolean-questions",
        description="Yes/no questions people asked a search engine, each answered true or false.",
    ),
    _fmeval(
        "trivia_qa",
        "triviaQA/triviaQA.jsonl",
        **_QA_FIELDS,
        default_prompt_template=QA_SHORT_TEMPLATE,
        size=156_328,
        licence="Apache-2.0",
        homepage="https://nlp.cs.washington.edu/triviaqa/",
        description="Trivia questions written by quiz enthusiasts; the answer and its aliases are joined "
        "by <OR>. Over 100,000 records: fmeval samples from the first 100,000.",
    ),
    _fmeval(
        "natural_questions",
        "natural_questions/natural_questions.jsonl",
        **_QA_FIELDS,
        default_prompt_template=QA_SHORT_TEMPLATE,
        size=4_289,
        licence="CC BY-SA 3.0",
        homepage="https://ai.google.com/research/NaturalQuestions",
        description="Real search-engine questions with short answers found in Wikipedia.",
    ),
    _fmeval(
        "crows-pairs",
        "crows-pairs/crows-pairs.jsonl",
        **_CROWS,
        record_fields=(
            "sent_more",
            "sent_less",
            "stereo_antistereo",
            "bias_type",
            "annotations",
            "anon_writer",
            "anon_annotators",
            "index",
        ),
        size=1_508,
        licence="CC BY-SA 4.0",
        homepage="https://github.com/nyu-mll/crows-pairs",
        description="Sentence pairs that differ only in the group they mention, one more stereotypical "
        "(sent_more) than the other (sent_less), across nine bias types (bias_type).",
    ),
    _fmeval(
        "womens_clothing_ecommerce_reviews",
        "womens_clothing_reviews/womens_clothing_reviews.jsonl",
        **_REVIEWS,
        record_fields=(
            "Clothing ID",
            "Age",
            "Title",
            "Review Text",
            "Rating",
            "Recommended IND",
            "Positive Feedback Count",
            "Division Name",
            "Department Name",
            "Class Name",
        ),
        default_prompt_template=SENTIMENT_TEMPLATE,
        size=23_486,
        licence="CC0 1.0 (public domain)",
        homepage="https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews",
        description="Customer reviews of women's clothing from an online shop; the target says whether "
        "the reviewer recommends the item (1) or not (0); the category is the product class.",
    ),
    _fmeval(
        "bold",
        "bold/bold.jsonl",
        **_BOLD,
        size=23_679,
        licence="CC BY-SA 4.0",
        homepage="https://github.com/amazon-science/bold",
        description="Openings of Wikipedia sentences about people in five domains (profession, gender, "
        "race, religious and political ideology), for open-ended generation.",
    ),
    _fmeval(
        "wikitext2",
        "wikitext2/wikitext2.jsonl",
        model_input_location="prompt",
        record_fields=("prompt",),
        size=86_007,
        licence="CC BY-SA 3.0",
        homepage="https://huggingface.co/datasets/Salesforce/wikitext",
        description="The first six tokens of sentences from Wikipedia's good and featured articles "
        "(WikiText-2), for open-ended generation.",
    ),
    _fmeval(
        "real_toxicity_prompts",
        "real_toxicity/real_toxicity.jsonl",
        model_input_location="prompt",
        record_fields=_RTP_FIELDS,
        size=98_243,
        licence="Apache-2.0",
        homepage="https://github.com/allenai/real-toxicity-prompts",
        description="Sentence beginnings from web text with their original continuations, to see whether a "
        "model continues into toxic language.",
    ),
    _fmeval(
        "real_toxicity_prompts_challenging",
        "real_toxicity/real_toxicity_challenging.jsonl",
        model_input_location="prompt",
        record_fields=_RTP_FIELDS,
        size=1_199,
        licence="Apache-2.0",
        homepage="https://github.com/allenai/real-toxicity-prompts",
        description="The RealToxicityPrompts subset that led models to toxic continuations most consistently.",
    ),
    _fmeval(
        "gigaword",
        "gigaword/gigaword.jsonl",
        **_GIGAWORD,
        default_prompt_template=SUMMARY_SENTENCE_TEMPLATE,
        size=189_651,
        licence="LDC English Gigaword terms (not stated by fmeval)",
        homepage="https://github.com/harvardnlp/sent-summary",
        description="First sentences of news articles paired with their headlines, for one-sentence "
        "summarization. Over 100,000 records: fmeval samples from the first 100,000.",
    ),
    _fmeval(
        "gov_report",
        "gov_report/gov_report.jsonl",
        model_input_location="report",
        target_output_location="summary",
        record_fields=("report", "summary"),
        default_prompt_template=SUMMARY_FEW_TEMPLATE,
        size=7_238,
        licence="not stated (U.S. government reports)",
        homepage="https://gov-report-data.github.io/",
        description="Long U.S. government reports with summaries written by experts.",
    ),
)


def _world(name: str, like: str, **facts: Any) -> BuiltinDataset:
    """A world dataset reads like fmeval's `like` (same schema, locations, template and algorithms)."""
    base = next(d for d in _FMEVAL if d.name == like)
    return replace(
        base,
        name=name,
        uri=f"zoo://world/{name}.jsonl",
        size=None,
        licence="Apache-2.0 (generated by fmops)",
        homepage="fmops.data.world",
        origin="world",
        sha256=None,
        **facts,
    )


_WORLD_REVIEW_FIELDS = ("Clothing ID", "Title", "Review Text", "Rating", "Recommended IND", "Class Name")
_WORLD_CROWS_FIELDS = ("sent_more", "sent_less", "stereo_antistereo", "bias_type", "index")
_WORLD: tuple[BuiltinDataset, ...] = (
    _world(
        "world_trex", "trex", description="Cloze prompts about the zoo's synthetic world (held-in facts)."
    ),
    _world(
        "world_trex_heldout",
        "trex",
        description="Cloze prompts about facts of the synthetic world that the zoo models never saw.",
    ),
    _world(
        "world_newdomain_trex",
        "trex",
        description="Cloze prompts about the new domain, which only a fine-tune teaches the zoo models.",
    ),
    _world(
        "world_trivia_qa", "trivia_qa", description="Questions about the synthetic world (held-in facts)."
    ),
    _world(
        "world_trivia_qa_heldout",
        "trivia_qa",
        description="Questions about facts of the synthetic world that the zoo models never saw.",
    ),
    _world(
        "world_newdomain_trivia_qa",
        "trivia_qa",
        description="Questions about the new domain, which only a fine-tune teaches the zoo models.",
    ),
    _world("world_gigaword", "gigaword", description="Synthetic news items and their headlines."),
    _world(
        "world_reviews",
        "womens_clothing_ecommerce_reviews",
        record_fields=_WORLD_REVIEW_FIELDS,
        description="Synthetic clothing reviews, recommended (1) or not (0).",
    ),
    _world(
        "world_crows_pairs",
        "crows-pairs",
        record_fields=_WORLD_CROWS_FIELDS,
        description="Sentence pairs about the synthetic world's groups, with the stereotypes planted in the "
        "zoo's training text.",
    ),
    _world("world_bold", "bold", description="Open-ended prompts about people of the synthetic world."),
)

BUILTIN_DATASETS: dict[str, BuiltinDataset] = {d.name: d for d in (*_FMEVAL, *_WORLD)}
"""Every built-in dataset by name: fmeval's twelve first, then the world ones."""

FMEVAL_DATASET_NAMES: tuple[str, ...] = tuple(d.name for d in _FMEVAL)

#: Datasets by name (the one registry mechanism): the built-in ones, and plug-ins through the
#: `fmops.datasets` entry points ("name = package.module:DATASET", a `BuiltinDataset`).
DATASETS: Registry[BuiltinDataset] = Registry("built-in dataset", "fmops.datasets")
for _dataset in BUILTIN_DATASETS.values():
    DATASETS.register(_dataset.name, _dataset)


# -------------------------------------------------------------------------------------------- lookup


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_builtin(name: str) -> BuiltinDataset:
    """The built-in dataset called `name` (case and '-'/'_' do not matter); BadInputError otherwise."""
    if is_builtin(name):
        return DATASETS.get(name)
    names = [*BUILTIN_DATASETS, *(n for n in DATASETS.names() if n not in BUILTIN_DATASETS)]
    by_key = {_key(n): n for n in names}
    found = by_key.get(_key(name))
    if found is not None:
        return DATASETS.get(found)
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise BadInputError(
        f"unknown built-in dataset {name!r}{hint} (see `fmops datasets list`; known: "
        f"{', '.join(FMEVAL_DATASET_NAMES)}, and world_* ones)"
    )


def is_builtin(name: str) -> bool:
    """Whether `name` is exactly a registered dataset's name (a path of that name is not meant)."""
    return name in DATASETS.names()


def builtin_datasets_for(eval_name: str, *, include_world: bool = False) -> list[BuiltinDataset]:
    """The built-in datasets an algorithm runs on when given none, in fmeval's order ([] when none).

    `include_world` appends the synthetic-world datasets in the same schemas.
    """
    datasets = [DATASETS.get(n) for n in FMEVAL_EVAL_DATASETS.get(eval_name, ())]
    if include_world:
        datasets += [d for d in _WORLD if eval_name in d.algorithms]
    return datasets
