"""Training recipes: the project's and the tutorial's, chosen by one parameter."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from agnews_pipeline.training import TrainingOptions, run_training_loop
from tools.sandbox import PROJECT_ROOT

BLOCK = {
    "recipe": "project",
    "seed": 42,
    "recipes": {
        "project": {"epochs": 20, "batch_size": 64, "patience": 3, "gradient_clip": 1.0},
        "tutorial": {"epochs": 15, "batch_size": 1024, "restore_best": False},
    },
}


def test_the_chosen_recipe_supplies_the_settings():
    project = TrainingOptions.model_validate(BLOCK)
    assert (project.recipe, project.epochs, project.batch_size) == ("project", 20, 64)
    assert (project.patience, project.gradient_clip, project.seed) == (3, 1.0, 42)

    tutorial = TrainingOptions.model_validate({**BLOCK, "recipe": "tutorial"})
    assert (tutorial.recipe, tutorial.epochs, tutorial.batch_size) == ("tutorial", 15, 1024)
    assert tutorial.restore_best is False
    assert tutorial.patience is None and tutorial.gradient_clip is None
    assert tutorial.seed == 42


def test_a_key_beside_the_recipes_overrides_the_recipe():
    options = TrainingOptions.model_validate({**BLOCK, "epochs": 2})
    assert (options.epochs, options.batch_size) == (2, 64)


def test_an_unknown_recipe_is_named():
    with pytest.raises(ValidationError, match=r"'fast'.*only \['project', 'tutorial'\]"):
        TrainingOptions.model_validate({**BLOCK, "recipe": "fast"})


def test_an_unknown_key_inside_a_recipe_is_rejected():
    block = {**BLOCK, "recipes": {"project": {"epoch": 3}}}
    with pytest.raises(ValidationError, match="epoch"):
        TrainingOptions.model_validate(block)


def test_the_history_records_the_recipe():
    options = TrainingOptions.model_validate({**BLOCK, "epochs": 2, "progress_bar": False})
    result = run_training_loop(
        0, lambda state, epoch: (state + 1, 0.5), lambda state: 0.25 * state, options
    )
    recipe = result.history.to_dict()["recipe"]
    assert recipe["recipe"] == "project"
    assert (recipe["epochs"], recipe["batch_size"], recipe["gradient_clip"]) == (2, 64, 1.0)
    assert "progress_bar" not in recipe


def test_batch_rows_scale_the_batch_and_the_learning_rate_with_more_rows():
    options = TrainingOptions(batch_size=64, learning_rate=1e-3, batch_rows=15_200)
    assert options.for_rows(15_200) == options
    assert options.for_rows(5_700) == options
    assert options.for_rows(40).batch_size == 40  # never more than the rows there are

    full = options.for_rows(114_000)  # 7.5 times batch_rows
    assert full.batch_size == 480
    assert full.learning_rate == pytest.approx(1e-3 * 7.5**0.5)
    unchanged = {"batch_size", "learning_rate"}
    assert full.model_dump(exclude=unchanged) == options.model_dump(exclude=unchanged)


def test_without_batch_rows_the_batch_stays_as_set():
    options = TrainingOptions(batch_size=1024, learning_rate=1e-3)
    assert options.for_rows(114_000) == options
    assert options.for_rows(700).batch_size == 700


# The tutorials' own epochs (shared/docs/approaches.md); all trained with Adam 1e-3 on
# batches of 1,024 from a random start, every epoch run and the last one kept.
TUTORIAL_EPOCHS = {
    "conv1d_flax": 10,
    "glove_haiku": 8,
    "glove_gluonnlp": 8,
    "lstm_mxnet": 15,
    "rnn_torch": 15,
}
# (epochs, learning rate) where one approach departs from its family.
TUTORIAL_EXCEPTIONS = {("rnn_torch", "birnn_3layer"): (25, 1e-4)}


@pytest.mark.parametrize("family", sorted(TUTORIAL_EPOCHS))
def test_every_approach_reproduces_its_tutorials_recipe_with_one_key(family):
    path = PROJECT_ROOT / "conf" / "base" / f"parameters_{family}.yml"
    blocks = yaml.safe_load(path.read_text(encoding="utf-8"))[family]
    approaches = {name: block for name, block in blocks.items() if "training" in block}
    assert approaches
    for approach, block in approaches.items():
        project = TrainingOptions.model_validate(block["training"])
        assert project.recipe == "project", approach
        tutorial = TrainingOptions.model_validate({**block["training"], "recipe": "tutorial"})
        epochs, learning_rate = TUTORIAL_EXCEPTIONS.get(
            (family, approach), (TUTORIAL_EPOCHS[family], 1e-3)
        )
        assert tutorial.summary() == {
            "recipe": "tutorial",
            "epochs": epochs,
            "batch_size": 1024,
            "learning_rate": learning_rate,
            "seed": project.seed,
            "restore_best": False,
            "patience": None,
            "gradient_clip": None,
            "batch_rows": None,
            "embedding_init": "random",
        }, approach
