"""NATS JetStream for escli: what a ``nats://`` URL says (``urls``), one connection on a
private event loop (``connection``, the only importer of nats-py), and following a subject
(``follow``). The ``nats://`` dispatch target built on them is ``escli.sinks.nats``.

Nothing here is imported until a ``nats://`` URL is used: ``escli --help`` and a SQLite
``dispatch`` start without nats-py (``tests/test_startup.py``).
"""
