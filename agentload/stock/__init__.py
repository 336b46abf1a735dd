"""The stock files shipped with agentload: where they are (``lookup``: an explicit path, else the
current folder's ``./<kind>/``, else the shipped ones; the repository's top-level
``locustfiles/``, ``profiles/``, ``scenarios/`` in a checkout, ``agentload/data/`` once
installed) and ``agentload init``'s starter copied from them (``starter``).

May import: ``agentload.errors`` only.
"""
