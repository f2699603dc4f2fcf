"""The installed project."""

GREETING = "hello from buildapp"
