"""Project exceptions. Each message says what went wrong and how to fix it; the CLI prints it as
one line and exits with the class's documented code."""

from __future__ import annotations


class DossierError(Exception):
    """Base class. `exit_code` is what the CLI returns for it."""

    exit_code = 1


class ConfigError(DossierError):
    """A setting is wrong or a needed optional dependency is missing."""

    exit_code = 1


class UsageError(DossierError):
    exit_code = 2


class NoIndexError(DossierError):
    """Asked to search or answer before anything was ingested."""

    exit_code = 4

    def __init__(self, home: str) -> None:
        super().__init__(
            f"no index yet in {home}: run `dossier ingest PATH` first "
            "(or set DOSSIER_HOME to the folder that holds your index)"
        )


class ModelMismatchError(DossierError):
    """The index was built with another embedding model than the one configured."""

    exit_code = 1

    def __init__(self, indexed: str, configured: str) -> None:
        super().__init__(
            f"this index was built with embedding model {indexed!r} but {configured!r} is "
            f"configured: set DOSSIER_EMBED_MODEL={indexed} or re-ingest into a new DOSSIER_HOME"
        )


class BackendError(DossierError):
    """A backend (LLM server, Chroma server, model file) could not be used."""

    exit_code = 1


class IndexBusyError(DossierError):
    """Another process is writing to the same DOSSIER_HOME."""

    exit_code = 1


class LoadError(DossierError):
    """One file could not be loaded; ingestion reports it and goes on with the rest."""

    exit_code = 3


def missing_dependency(package: str, extra: str | None = None) -> ConfigError:
    hint = f"pip install {package}" if extra is None else f"pip install 'dossier[{extra}]'"
    return ConfigError(f"the optional package {package!r} is not installed: {hint}")
