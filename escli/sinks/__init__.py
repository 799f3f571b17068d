"""Extra dispatch targets that are not stores (NATS JetStream); each module is the only
importer of its client library and is imported only when its URL scheme is used."""
