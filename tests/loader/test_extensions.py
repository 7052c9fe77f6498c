"""Importing a user's operator module: by name from sys.path or a folder, or from a .py file."""

from __future__ import annotations

import sys

import pytest

from factorspace.errors import FactorspaceError
from factorspace.loader.extensions import ExtensionModule, extension_file, import_extension
from factorspace.registry import OPERATORS
from tests.genotype.custom_ops import custom_ops_fixture  # noqa: F401  (fixture)


def test_a_module_in_a_given_folder_is_found_without_the_python_path(custom_ops):
    before = list(sys.path)
    found = import_extension(custom_ops.module, folders=[custom_ops.folder])
    assert found == ExtensionModule(custom_ops.module, custom_ops.folder.resolve())
    assert custom_ops.op in OPERATORS
    assert OPERATORS.get(custom_ops.op).module == custom_ops.module
    assert sys.path == before  # the folder was on sys.path only while importing


def test_importing_again_returns_the_same_module(custom_ops):
    first = import_extension(custom_ops.module, folders=[custom_ops.folder])
    assert import_extension(str(custom_ops.file)) == first  # by file: no second registration


def test_a_py_file_relative_to_the_folder(custom_ops):
    found = import_extension(custom_ops.file.name, folders=[custom_ops.folder])
    assert found.module == custom_ops.module and custom_ops.op in OPERATORS
    assert extension_file(custom_ops.module) == custom_ops.file.resolve()


def test_a_file_inside_a_package_is_imported_under_its_dotted_name(tmp_path):
    package = tmp_path / "mypkg_i20"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text("VALUE = 1\n")
    try:
        found = import_extension(str(package / "ops.py"))
        assert found == ExtensionModule("mypkg_i20.ops", tmp_path.resolve())
        assert sys.modules["mypkg_i20.ops"].VALUE == 1
    finally:
        sys.modules.pop("mypkg_i20.ops", None)
        sys.modules.pop("mypkg_i20", None)


def test_a_missing_module_names_where_it_was_looked_for(tmp_path):
    with pytest.raises(FactorspaceError) as e:
        import_extension("no_such_module_i20", folders=[tmp_path])
    assert str(e.value) == (
        "cannot import module 'no_such_module_i20': ModuleNotFoundError: No module named "
        f"'no_such_module_i20' on the Python path nor in {tmp_path}"
    )


def test_an_error_raised_by_the_module_is_one_message(tmp_path):
    (tmp_path / "broken_i20.py").write_text("raise RuntimeError('boom')\n")
    try:
        with pytest.raises(FactorspaceError, match=r"'broken_i20': RuntimeError: boom$"):
            import_extension("broken_i20", folders=[tmp_path])
    finally:
        sys.modules.pop("broken_i20", None)


def test_a_second_file_under_an_imported_modules_name_is_refused(custom_ops, tmp_path):
    import_extension(custom_ops.module, folders=[custom_ops.folder])
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / custom_ops.file.name).write_text("")
    with pytest.raises(FactorspaceError, match="is already imported from"):
        import_extension(str(other / custom_ops.file.name))


@pytest.mark.parametrize("spec", ["", "not a module", "1abc", "a..b"])
def test_what_is_no_module_name_is_refused(spec):
    with pytest.raises(FactorspaceError, match="not a module name"):
        import_extension(spec)


def test_a_missing_file(tmp_path):
    with pytest.raises(FactorspaceError, match="FileNotFoundError: no file nope.py"):
        import_extension("nope.py", folders=[tmp_path])
