"""Registries of the extension points: SMS gateways, storage backends, virus scanners,
authentic sources and field types (webhook targets will be one more).

Each extension point owns one `Registry`; each implementation is a class in its own module,
decorated with `@REGISTRY.register("id", label=...)`. A second class under an id already taken
is refused when its module is imported, so the application does not start. An entry flagged
`stand_in=True` imitates a real service for development and tests (the `log` SMS gateway keeps
the messages in the database): `select`, called at start-up, refuses it in production.
"""

from config import ConfigError

PRODUCTION = "production"


class RegistryError(ValueError):
    """An id registered twice, or asked for and not registered."""


class Registry:
    """Classes by id, for one extension point chosen by the setting `setting`."""

    def __init__(self, kind, setting=None, default=None):
        self.kind = kind  # what an entry is, for messages: "SMS gateway"
        self.setting = setting  # the config key that names the entry in use
        self.default = default  # the id used when that key is empty
        self._entries = {}

    def register(self, entry_id, label=None, stand_in=None):
        """Class decorator adding the class under `entry_id`; `label` and `stand_in`, when
        given, become its class attributes (else it keeps the ones it declares or inherits)."""

        def decorate(cls):
            if entry_id in self._entries:
                raise RegistryError(
                    f"{self.kind} {entry_id!r} is registered twice: "
                    f"{_name(self._entries[entry_id])} and {_name(cls)}."
                )
            cls.id = entry_id
            if label is not None:
                cls.label = label
            if stand_in is not None:
                cls.stand_in = stand_in
            self._entries[entry_id] = cls
            return cls

        return decorate

    def get(self, entry_id):
        """The class registered under `entry_id`; RegistryError naming the known ids if none."""
        try:
            return self._entries[entry_id]
        except KeyError:
            raise RegistryError(
                f"{self.kind} {entry_id!r} is unknown; use one of {self.known()}."
            ) from None

    __getitem__ = get

    def __contains__(self, entry_id):
        return entry_id in self._entries

    def __iter__(self):
        """The registered classes, by id."""
        return iter(self._entries[i] for i in self.ids())

    def ids(self):
        return sorted(self._entries)

    def known(self):
        return ", ".join(self.ids())

    def label(self, entry_id):
        """The entry's label, or its id when it has none or is not registered."""
        cls = self._entries.get(entry_id)
        return getattr(cls, "label", None) or entry_id

    def choices(self):
        """(id, label) of every entry, by id: for a select field."""
        return [(cls.id, self.label(cls.id)) for cls in self]

    def select(self, config):
        """The class named by the setting in `config` (a mapping), checked for `ENV_NAME`.

        ConfigError, naming the setting, when the id is unknown or when it is a stand-in and
        the application runs in production."""
        entry_id = config.get(self.setting) or self.default
        if entry_id not in self._entries:
            raise ConfigError(f"{self.setting}={entry_id!r} is unknown; use one of {self.known()}.")
        self.check_allowed(entry_id, config.get("ENV_NAME"))
        return self._entries[entry_id]

    def check_allowed(self, entry_id, env):
        """ConfigError when `entry_id` is a stand-in and `env` is production."""
        cls = self.get(entry_id)
        if env == PRODUCTION and getattr(cls, "stand_in", False):
            real = ", ".join(c.id for c in self if not getattr(c, "stand_in", False))
            raise ConfigError(
                f"{self.setting}={entry_id} is a stand-in ({self.label(entry_id)}), for "
                f"development and tests only; production needs a real {self.kind}"
                + (f": set {self.setting} to one of {real}." if real else ".")
            )


def _name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"
