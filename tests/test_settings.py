"""Settings declared once (airbnb.settings): each config's annotations give its types, bounds and
choices, and the command line, the notebooks and the params files all read that one declaration."""
import dataclasses
from pathlib import Path

import pytest

from airbnb import etl, evaluate, explore, process, settings, train, tune
from airbnb.cli import add_config_flags, defaults, from_parameters
from airbnb.errors import ConfigError
from airbnb.synthetic import CityConfig

CONFIGS = [train.TrainConfig, evaluate.EvaluateConfig, etl.EtlConfig, process.ProcessConfig, tune.TuneConfig,
           explore.ExploreConfig, CityConfig]
FIELDS = [(cls, f.name) for cls in CONFIGS for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("cls, name", FIELDS, ids=[f"{c.__name__}.{n}" for c, n in FIELDS])
def test_every_setting_refuses_a_value_of_no_type_by_its_name(cls, name):
    """Every field is declared with a type that is checked (a typo'd annotation would let anything in)."""
    with pytest.raises(ValueError, match=rf"^{name} must be (a |an |one of )"):
        cls(**{name: object()})


@pytest.mark.parametrize("value, message", [
    ({"epochs": 0}, "epochs must be from 1 to 10000, got 0"),
    ({"epochs": "10"}, "epochs must be an int, got '10'"),
    ({"epochs": True}, "epochs must be an int, got True"),
    ({"learning_rate": 0.0}, "learning_rate must be > 0, got 0.0"),
    ({"test_size": 1.0}, r"test_size must be in \(0, 1\), got 1.0"),
    ({"weight_average": 1.0}, r"weight_average must be in \[0, 1\), got 1.0"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number, got nan"),
    ({"target": "dollars"}, r"target must be one of \('price', 'log_price'\), got 'dollars'"),
    ({"cities": ["albany", 3]}, r"cities must be a list\[str\], got \['albany', 3\]"),
    ({"epoch": 5}, r"unknown setting\(s\) \['epoch'\]"),
    ({"test_size": 0.6, "holdout_size": 0.5}, "test_size \\+ holdout_size must be < 1"),
])
def test_a_bad_setting_is_one_sentence_naming_it(value, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        train.TrainConfig(**value)


def test_a_config_stays_a_dataclass_and_replace_checks_again():
    config = train.TrainConfig(data_path=Path("t.parquet"))
    assert config.data_path == "t.parquet" and isinstance(config.data_path, str)  # a path is its text
    assert dataclasses.replace(config, epochs=3).epochs == 3
    assert dataclasses.asdict(config)["epochs"] == 200
    with pytest.raises(ConfigError, match="^epochs must be from 1"):
        dataclasses.replace(config, epochs=0)


def test_the_etl_keeps_its_own_error():
    with pytest.raises(etl.EtlError, match=r"^review_rate must be in \(0, 1\], got 0"):
        etl.EtlConfig(review_rate=0)


@pytest.mark.parametrize("cls", [train.TrainConfig, evaluate.EvaluateConfig, etl.EtlConfig, tune.TuneConfig])
def test_the_flags_choices_are_the_declared_literals(cls):
    import argparse

    parser = argparse.ArgumentParser()
    add_config_flags(parser, cls)
    flags = {a.dest: a.choices for a in parser._actions if a.help != argparse.SUPPRESS}
    literals = {name: settings.choices(cls, name) for name in flags if name in defaults(cls)}
    literals = {name: allowed for name, allowed in literals.items() if allowed}
    assert literals, "every one of these configs has a setting of fixed choices"
    assert {name: tuple(flags[name]) for name in literals} == literals


def test_the_command_line_parses_once_and_holds_only_the_flags_given():
    assert vars(train.build_parser().parse_args(["--preset", "original", "--epochs", "200"])) == {
        "preset": "original", "epochs": 200}
    config = train.configure(**vars(train.build_parser().parse_args(["--preset", "original", "--epochs", "200"])))
    assert (config.epochs, config.target, config.ensemble_size) == (200, "price", 1)


def test_the_help_still_shows_each_default():
    text = train.build_parser().format_help()
    assert "(default: 200)" in text and "(default: log_price)" in text


def test_the_process_stage_has_its_own_settings():
    """The process notebook's parameters are ProcessConfig's; its ETL part is an EtlConfig."""
    config = from_parameters(process.ProcessConfig, {"listings": "albany/*.csv", "review_rate": 0.4, "other": 1})
    assert config.listings == "albany/*.csv" and config.etl == etl.EtlConfig(review_rate=0.4)
    assert config.synthetic_city == CityConfig()
    with pytest.raises(ConfigError, match="^n_listings must be from 1"):
        process.ProcessConfig(city_listings=0)
    with pytest.raises(ConfigError, match=r"^listings must be a list\[str\], str or None, got 3"):
        process.ProcessConfig(listings=3)


def test_a_notebook_run_by_hand_is_checked_like_a_headless_one():
    with pytest.raises(ConfigError, match=r"^split must be one of \('test', 'validation'\), got 'train'"):
        from_parameters(evaluate.EvaluateConfig, {"split": "train"})
