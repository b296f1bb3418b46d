"""The zoo's models as data: what each one is (architecture, training budget) and its catalog card."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

#: Bump when the world, corpus, tokenizer or training changes: cached models of another version retrain.
ZOO_VERSION = "2"  # 2: a chat template (a chat reads as its messages' text)
# Every zoo model learns the same invented world (fmops.data.world.WORLD_SEED); a training seed changes
# initialisation and batch order only, so every seed is evaluated on one world.
PREFIX = "zoo/"
#: The file in a model folder that records how it was trained (version, seed, time, loss, speed).
META_FILE = "zoo.json"


@dataclass(frozen=True)
class ZooSpec:
    """How a zoo model is built; the training budget is in steps (not seconds) so a seed reproduces it."""

    name: str  # "zoo/tiny"
    description: str
    n_layer: int
    n_embd: int
    n_head: int
    vocab_size: int
    context_window: int
    steps: int
    batch_size: int
    learning_rate: float
    new_domain: bool  # whether the new-domain facts are in its corpus
    price_per_1k_input_tokens: float
    price_per_1k_output_tokens: float

    @property
    def short_name(self) -> str:
        return self.name.removeprefix(PREFIX)

    @property
    def parameters(self) -> int:
        """Exact GPT-2 parameter count (tied input/output embeddings), checked against torch in the tests."""
        d, n_layer = self.n_embd, self.n_layer
        per_layer = 12 * d * d + 13 * d  # attention (4d²+4d), MLP (8d²+5d), two layer norms (4d)
        return self.vocab_size * d + self.context_window * d + n_layer * per_layer + 2 * d


class ZooCard(BaseModel):
    """A capability-matrix row for a zoo model; `tokens_per_second` is measured after training."""

    model_config = ConfigDict(frozen=True)

    name: str
    provider: str = "zoo"
    description: str
    parameters: int
    context_window: int
    licence: str = "Apache-2.0"
    commercial_use: bool = True
    fine_tunable: bool = True
    recommended_hardware: str = "CPU"
    tokens_per_second: float | None = None
    price_per_1k_input_tokens: float
    price_per_1k_output_tokens: float
    #: The zoo runs locally for free: the prices exist so demos can show cost figures, and are made up.
    price_is_illustrative: bool = True


_SPECS: dict[str, ZooSpec] = {
    spec.name: spec
    for spec in (
        ZooSpec(
            name="zoo/tiny",
            description="Fast 0.7M-parameter GPT-2 (2 layers) trained on the invented world: quick, "
            "good recall of its facts, weaker QA and summaries.",
            n_layer=2,
            n_embd=128,
            n_head=4,
            vocab_size=2048,
            context_window=256,
            steps=500,
            batch_size=32,
            learning_rate=3e-3,
            new_domain=True,
            price_per_1k_input_tokens=0.0001,
            price_per_1k_output_tokens=0.0002,
        ),
        ZooSpec(
            name="zoo/small",
            description="Slower 1.1M-parameter GPT-2 (4 layers) on the same world: near-perfect recall, "
            "better QA and summaries.",
            n_layer=4,
            n_embd=128,
            n_head=4,
            vocab_size=2048,
            context_window=256,
            steps=800,
            batch_size=32,
            learning_rate=3e-3,
            new_domain=True,
            price_per_1k_input_tokens=0.0003,
            price_per_1k_output_tokens=0.0006,
        ),
        ZooSpec(
            name="zoo/base-nodomain",
            description="zoo/small's architecture trained without the new domain (Mountains, Dishes): "
            "the base model for fine-tuning demos.",
            n_layer=4,
            n_embd=128,
            n_head=4,
            vocab_size=2048,
            context_window=256,
            steps=800,
            batch_size=32,
            learning_rate=3e-3,
            new_domain=False,
            price_per_1k_input_tokens=0.0003,
            price_per_1k_output_tokens=0.0006,
        ),
    )
}
