"""Development tools: scratch project copies and the Kedro-Viz browser check.

Not part of the installed package (``pyproject.toml`` finds packages under ``src/``
only), so workers never ship a web server or a browser driver. Tests import it from
the project root (pytest's ``pythonpath``); scripts and benchmarks put the root on
``sys.path`` first.
"""
