"""Scripts (steps with expectations, ``escli run``) and scenario files (given/when/then,
``escli test``): ``locations`` finds scenario files, ``loading`` reads and checks scripts and
scenarios, ``expectations`` compares an outcome with what a step expects, ``running`` runs
them; ``yaml_text`` is the bounded YAML reader under ``loading``."""
