"""cityopp-xl: rank-based city indices in Excel."""

#: The package version (pyproject.toml reads it from here). A constant rather than a
#: lookup in the installed metadata, which every command would pay for at start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
