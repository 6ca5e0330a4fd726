"""What runs next to student code: the fork server, the worker, its isolation, warm-up and torch
speed-ups. It may import `protocol`, `probes`, `notebooks` and `config`, and nothing that knows an
expected value (scoring, outputs, testing): the import contracts in pyproject.toml check it."""
