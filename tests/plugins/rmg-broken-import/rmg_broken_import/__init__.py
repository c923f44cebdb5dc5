"""Test fixture: a plugin whose import fails, as when its author forgot a dependency.

rmg must skip it with a warning naming ``broken_import`` and keep working.
"""

from rmg_core import hookimpl

# Deliberately absent from every environment: importing this plugin raises
# ModuleNotFoundError (an ImportError), exactly like a plugin whose
# dependency was not installed.
import rmg_broken_import_missing_dependency  # noqa: F401,E402


@hookimpl
def register_graders(register):
    """Never reached: the import above fails first."""
