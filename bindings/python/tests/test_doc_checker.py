# SPDX-License-Identifier: MIT
"""tests/check_doc_python.py can fail: a block that raises fails its page
(with the page's line), blocks of a page share one namespace, only a block
marked as output is left out, and other languages are not run."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "tests", "check_doc_python.py"))


def check(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text)
    r = subprocess.run([sys.executable, CHECKER, str(page)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_a_failing_block_fails_the_page_with_its_line(tmp_path):
    rc, out = check(tmp_path, "# t\n\n```python\nx = 1\n```\n\ntext\n\n```python\nassert x == 2\n```\n")
    assert rc == 1 and "page.md:9" in out and "AssertionError" in out and "1 failed" in out


def test_blocks_share_a_namespace_and_other_languages_do_not_run(tmp_path):
    rc, out = check(tmp_path, "```python\nx = 41\n```\n```sh\nexit 1\n```\n```py\nassert x + 1 == 42\n```\n")
    assert rc == 0 and "2 block(s) ran" in out


def test_only_a_marked_output_block_is_left_out(tmp_path):
    rc, out = check(tmp_path, "<!-- check-docs: output -->\n```python\n>>> 1 +\n```\n")
    assert rc == 0 and "output block, not run" in out
    rc, out = check(tmp_path, "<!-- check-docs: skip a reason -->\n```python\n>>> 1 +\n```\n")
    assert rc == 1 and "SyntaxError" in out


def test_a_missing_module_fails_unless_an_optional_package_is_absent(tmp_path):
    rc, out = check(tmp_path, "```python\nimport distributed.no_such_module_for_this_test\n```\n")
    assert rc == 1  # a missing module of an installed package is a failure, not a skip
    rc, out = check(tmp_path, "```python\nimport no_such_package_xyz\n```\n")
    assert rc == 1 and "ModuleNotFoundError" in out
