"""The one train-evaluate-explain template every model family instantiates per approach.

A family declares its ``train_model`` function and which template datasets it reads;
its approaches come from its parameter blocks (``agnews_pipeline.approaches``).
Under the namespace ``rnn_torch.rnn_50`` the template's datasets become
``rnn_torch.rnn_50.trained_model`` and so on and its parameters
``params:rnn_torch.rnn_50.model``; the shared inputs map to the token ids,
vocabulary and GloVe matrix the approach's ``tokenizer``, ``max_tokens`` and
``glove`` name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from kedro.pipeline import Node, Pipeline

from agnews_pipeline.approaches import Approach, configured_approaches, instantiate
from agnews_pipeline.pipelines import evaluation, explanation


def create_template(train_model: Callable, reads: Mapping[str, str]) -> Pipeline:
    """The un-namespaced template; ``reads`` maps ``train_model``'s arguments to datasets."""
    train = Pipeline(
        [
            Node(
                func=train_model,
                inputs={
                    **reads,
                    "model_options": "params:model",
                    "training_options": "params:training",
                },
                outputs=["trained_model", "training_history"],
                name="train_model_node",
            )
        ]
    )
    return train + evaluation.create_template() + explanation.create_template()


def create_family_pipeline(
    family: str,
    train_model: Callable,
    reads: Mapping[str, str],
    approaches: Iterable[Approach] | None = None,
) -> Pipeline:
    """The template once per approach (the configured ones unless given)."""
    if approaches is None:
        approaches = configured_approaches()[family].values()
    return instantiate(create_template(train_model, reads), approaches)


def family_pipeline(
    family: str, train_model: Callable, reads: Mapping[str, str]
) -> Callable[..., Pipeline]:
    """A family's ``create_pipeline``: its template once per approach block."""

    def create_pipeline(
        approaches: Iterable[Approach] | None = None, **kwargs
    ) -> Pipeline:
        return create_family_pipeline(family, train_model, reads, approaches)

    create_pipeline.__doc__ = (
        f"The template once per approach, under ``{family}.<approach>``."
    )
    return create_pipeline


# What each kind of trainer reads (train_model's argument -> template dataset). A
# trainable embedding reads the vocabulary and may start from the GloVe matrix; a frozen
# one is the GloVe matrix, with its coverage report. The MXNet trainers can be told to
# validate on the test split (the tutorials did), so they also read its token ids.
TRAINABLE_EMBEDDING_READS = {
    "train_features": "train_features",
    "validation_features": "validation_features",
    "vocabulary": "vocabulary",
    "glove_matrix": "glove_matrix",
}
FROZEN_GLOVE_READS = {
    "train_features": "train_features",
    "validation_features": "validation_features",
    "embedding_matrix": "glove_matrix",
    "embedding_coverage": "glove_coverage",
}
CHOOSES_VALIDATION_SPLIT = {
    "test_features": "test_features",
    "validation_options": "params:validation",
}
