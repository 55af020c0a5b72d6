"""Training recipes: the project's and the tutorial's, chosen by one parameter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agnews_pipeline.training import TrainingOptions, run_training_loop

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
