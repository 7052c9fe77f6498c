"""SIGHUP stops a run like SIGTERM (unless nohup asked to ignore it); hints are whole commands."""

from __future__ import annotations

import shlex
import signal

import pytest

from factorspace.run.stopping import StopOnSignal, StopRequested, resume_command

needs_sighup = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")


@needs_sighup
def test_sighup_is_a_stop_request_and_the_handler_is_restored():
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with StopOnSignal() as stop:
            signal.raise_signal(signal.SIGHUP)
            assert stop.requested
            with pytest.raises(StopRequested):
                stop.check()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, before)


@needs_sighup
def test_an_ignored_sighup_stays_ignored_under_nohup():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with StopOnSignal() as stop:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)
            assert not stop.requested
    finally:
        signal.signal(signal.SIGHUP, before)


def test_the_resume_command_is_whole_and_quoted(tmp_path):
    run = tmp_path / "my run"
    assert resume_command("search", run) == f"factorspace search --resume {shlex.quote(str(run))}"
    assert shlex.split(resume_command("train GENOTYPE", run)) == [
        "factorspace",
        "train",
        "--resume",
        str(run),
    ]
