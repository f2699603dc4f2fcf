"""The app's own module named like the standard library's csv (which it doesn't use)."""

NAME = "csv.py"
