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
