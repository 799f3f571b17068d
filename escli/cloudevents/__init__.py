"""CloudEvents 1.0: the mapping of escli events to attributes (``mapping``, ``times``),
validation (``typesystem``, ``attributes``, ``validate``), writing (``write``) and parsing
(``parser``) events, the three file formats (``formats``), export and ``replay --file``
(``files``, ``output``), import (``importing``, ``import_plan``) and the bridge to the SDK
(``sdk``, the only importer of the ``cloudevents`` package)."""
