"""Prints the version of every package installed in the app's environment, proving at launch
that the locked dependencies (and only the main ones) can be imported."""

import importlib.metadata
import sys

import dateutil
import typing_extensions

try:
    import six  # a dev dependency: must not be installed
except ImportError:
    six = None

versions = sorted(
    f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
)
print(f"Python {sys.version.split()[0]}")
print("\n".join(versions))
print(f"dateutil {dateutil.__version__}, typing_extensions imported, six {'present' if six else 'absent'}")
