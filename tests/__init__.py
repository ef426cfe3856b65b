"""The test suite, a package so that `python -m tests.models.parity_drift` finds it before the `tests` package
torch-fidelity installs into site-packages."""
