"""The registry of the extension points, and its use by the four that exist."""

import pytest

import sms
import sources
import storage
from config import ConfigError
from procedures import fields
from registry import Registry, RegistryError


@pytest.fixture
def gateways():
    registry = Registry("SMS gateway", setting="SMS_GATEWAY")

    @registry.register("real", label="Real gateway")
    class Real:
        pass

    @registry.register("fake", label="Kept in the database", stand_in=True)
    class Fake:
        pass

    return registry


def test_a_duplicate_id_is_refused_and_the_first_entry_kept(gateways):
    first = gateways.get("real")
    with pytest.raises(RegistryError, match=r"SMS gateway 'real' is registered twice: .*Real"):

        @gateways.register("real")
        class Again:
            pass

    assert gateways.get("real") is first


def test_each_entry_carries_its_id_and_label(gateways):
    assert gateways.get("fake").id == "fake"
    assert gateways.label("fake") == "Kept in the database"
    assert gateways.choices() == [("fake", "Kept in the database"), ("real", "Real gateway")]
    assert [cls.id for cls in gateways] == ["fake", "real"]
    assert "real" in gateways and "other" not in gateways


def test_without_a_label_the_id_stands_for_it():
    registry = Registry("thing")
    registry.register("plain")(type("Plain", (), {}))
    assert registry.label("plain") == "plain"


def test_an_unknown_id_names_the_known_ones(gateways):
    with pytest.raises(RegistryError, match="SMS gateway 'nope' is unknown; use one of fake, real"):
        gateways.get("nope")
    with pytest.raises(ConfigError, match="SMS_GATEWAY='nope' is unknown; use one of fake, real"):
        gateways.select({"SMS_GATEWAY": "nope", "ENV_NAME": "development"})


@pytest.mark.parametrize("env", ["development", "testing"])
def test_a_stand_in_is_accepted_outside_production(gateways, env):
    assert gateways.select({"SMS_GATEWAY": "fake", "ENV_NAME": env}).id == "fake"


def test_a_stand_in_is_refused_in_production_naming_the_setting(gateways):
    config = {"SMS_GATEWAY": "fake", "ENV_NAME": "production"}
    with pytest.raises(ConfigError) as refused:
        gateways.select(config)
    assert str(refused.value) == (
        "SMS_GATEWAY=fake is a stand-in (Kept in the database), for development and tests only; "
        "production needs a real SMS gateway: set SMS_GATEWAY to one of real."
    )
    assert gateways.select({**config, "SMS_GATEWAY": "real"}).id == "real"


def test_the_default_applies_when_the_setting_is_empty():
    registry = Registry("storage backend", setting="STORAGE_BACKEND", default="disk")
    registry.register("disk")(type("Disk", (), {}))
    assert registry.select({"STORAGE_BACKEND": ""}).id == "disk"


def test_the_log_sms_gateway_is_the_stand_in(app):
    assert sms.GATEWAYS.get("log").stand_in is True
    assert sms.GATEWAYS.get("http").stand_in is False
    with pytest.raises(ConfigError, match="SMS_GATEWAY=log is a stand-in"):
        sms.GATEWAYS.select({"SMS_GATEWAY": "log", "ENV_NAME": "production"})


@pytest.mark.parametrize(
    ("registry", "entry_id"),
    [
        (sms.GATEWAYS, "http"),
        (storage.BACKENDS, "local"),
        (sources.REGISTERS, "kbo-open-data"),
        (fields.TYPES, "text"),
    ],
)
def test_the_extension_points_share_the_registry(app, registry, entry_id):
    assert isinstance(registry, Registry)
    assert registry.get(entry_id).id == entry_id
    assert registry.label(entry_id) != entry_id, "every entry has a label"


def test_every_field_type_has_a_label():
    assert all(cls.label for cls in fields.TYPES)
    assert fields.get("date") is fields.get("date"), "one shared instance per field type"
