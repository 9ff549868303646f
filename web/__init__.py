"""The browser pages: static assets the server serves (a package so that ``pip install .`` ships them)."""
