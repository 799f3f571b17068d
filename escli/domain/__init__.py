"""The domain layer: what a domain author writes against (``model``: ``Domain``,
``AggregateState``, events' metadata, the one generation stamper), the codec between
dataclasses and JSON (``codec``, with ``fit`` the plain checker and ``typed`` the msgspec
path), command-line words into commands (``words``), finding domain modules (``discovery``)
and running a domain's code so its failures read as its own (``calls``). Imports only what is
below it: ``jsontext``, ``text``, ``times``, ``errors``."""
