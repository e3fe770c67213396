"""Under ``CI=true`` a skipped test fails the run, unless it is listed as expected on CI.

The browser and Prometheus tests skip where Chromium or Prometheus is missing;
on CI that would pass a run that never ran them. Each case runs an inner
pytest with the hooks of ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.conftest import CI_ALLOWED_SKIPS

pytest_plugins = ["pytester"]

SKIPPING = """
import shutil

import pytest

@pytest.fixture
def browser():
    pytest.skip("/usr/bin/chromium is missing (Debian package 'chromium')")

def test_passes():
    pass

def test_in_a_browser(browser):
    pass

@pytest.mark.skipif(True, reason="promtool not on PATH (apt-get install prometheus)")
def test_rules():
    pass

def test_server():
    pytest.skip("the prometheus server binary is not on PATH")

@pytest.mark.xfail(reason="a known bug, not a missing tool")
def test_known_bug():
    assert False
"""

COMPOSE_TEST = next(iter(CI_ALLOWED_SKIPS))  # tests/test_compose.py::test_docker_compose_...


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest("-p", "tests.conftest", "-rA")


def test_skips_fail_the_run_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    pytester.makepyfile(test_tools=SKIPPING)
    result = run(pytester, monkeypatch, ci="true")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    # The fixture's skip fails the set-up (an error); the marker's and the body's fail the test.
    assert outcomes.get("skipped", 0) == 0
    assert outcomes["passed"] == 1 and outcomes["xfailed"] == 1
    assert outcomes["failed"] + outcomes["errors"] == 3
    result.stdout.fnmatch_lines(
        [
            "*CI=true*test_in_a_browser*chromium is missing*",
            "*CI=true*test_rules*promtool not on PATH*",
            "*CI=true*test_server*prometheus server binary*",
        ],
        consecutive=False,
    )


def test_skips_are_only_skips_without_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(test_tools=SKIPPING)
    for ci in (None, "false", ""):
        result = run(pytester, monkeypatch, ci=ci)
        assert result.ret == pytest.ExitCode.OK, ci
        result.assert_outcomes(passed=1, skipped=3, xfailed=1)


def test_a_module_skipped_at_collection_fails_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(
        test_needs_tool="""
        import pytest
        pytest.skip("needs pip install 'creditwatch[embedded]'", allow_module_level=True)

        def test_never_runs():
            pass
        """
    )
    assert run(pytester, monkeypatch, ci=None).ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = run(pytester, monkeypatch, ci="true")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*CI=true*was skipped (needs pip install 'creditwatch[[]embedded[]]')*"]
    )


def test_a_skip_expected_on_ci_passes_and_says_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    path, name = COMPOSE_TEST.split("::")
    pytester.makepyfile(
        **{
            path.removesuffix(".py"): f"""
            import pytest

            @pytest.mark.skipif(True, reason="docker CLI without the compose plugin")
            def {name}():
                pass

            def test_other_skip():
                pytest.skip("something else is missing")
            """
        }
    )
    result = run(pytester, monkeypatch, ci="true")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the other skip still fails
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(
        [f"*expected on CI*{COMPOSE_TEST}*{CI_ALLOWED_SKIPS[COMPOSE_TEST]}*"]
    )
