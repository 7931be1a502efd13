"""Showing results: notebook views, published run pages, the run record.

``views`` returns what the notebooks display; ``html`` renders executed notebooks and
the run and runs index pages; ``record`` is ``run.json``; ``templating`` the one
autoescaping Jinja2 environment all of them render through.
"""
