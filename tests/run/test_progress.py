"""What a run prints while it trains: plain lines for a batch job's log, a bar on a terminal, and
every line in run.log, never wrapped."""

from __future__ import annotations

import io
import re

from rich.console import Console

from factorspace.run.progress import EpochProgress, RunConsole, clock, run_console

PROGRESS = re.compile(
    r"^epoch 2/3  step (\d+)/10  loss \d\.\d{3}  acc \d+\.\d%  \d+ img/s  ETA \d+:\d\d:\d\d$"
)


def batch_console() -> tuple[Console, io.StringIO]:
    """A console writing to a file, as stdout is in a batch job (not a terminal, 80 columns)."""
    buf = io.StringIO()
    return Console(file=buf, width=80, markup=False, highlight=False), buf


def run_steps(console, steps=10) -> None:
    bar = EpochProgress(console, epoch=1, epochs=3, steps=steps)
    for step in range(1, steps + 1):
        bar.update(step, images=16, loss=2.0 / step, acc=step / steps)
    bar.close()


def test_a_batch_job_gets_a_line_after_the_first_step_and_then_every_interval(tmp_path):
    screen, buf = batch_console()
    run_steps(RunConsole(screen, tmp_path / "run.log", log_every=3600))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 and PROGRESS.match(lines[0]), lines  # the first step only
    assert PROGRESS.match(lines[0])[1] == "1"
    assert (tmp_path / "run.log").read_text().splitlines() == lines

    screen, buf = batch_console()
    run_steps(RunConsole(screen, None, log_every=0))  # every step
    steps = [PROGRESS.match(line)[1] for line in buf.getvalue().splitlines()]
    assert steps == [str(s) for s in range(1, 11)]


def test_a_terminal_shows_the_bar_and_run_log_still_gets_the_lines(tmp_path):
    buf = io.StringIO()
    terminal = Console(file=buf, force_terminal=True, width=120)
    console = RunConsole(terminal, tmp_path / "run.log", log_every=0)
    assert console.live is terminal
    run_steps(console)
    assert "step 1/10" not in buf.getvalue()  # the live bar, not plain lines
    logged = (tmp_path / "run.log").read_text().splitlines()
    assert len(logged) == 10 and all(PROGRESS.match(line) for line in logged)


def test_printed_lines_are_never_wrapped_on_screen_or_in_the_log(tmp_path):
    screen, buf = batch_console()
    long = "  normal     " + ", ".join(f"{i}->{i + 2} sep_conv_3x3·relu" for i in range(6))
    assert len(long) > 80
    RunConsole(screen, tmp_path / "run.log").print(long)
    assert buf.getvalue() == long + "\n"
    assert (tmp_path / "run.log").read_text() == long + "\n"


def test_run_console_keeps_the_interval_and_adds_the_log(tmp_path):
    screen, _ = batch_console()
    console = run_console(RunConsole(screen, None, log_every=5.0), tmp_path / "run.log")
    assert (console.screen, console.log, console.log_every) == (screen, tmp_path / "run.log", 5.0)
    assert run_console(None, None) is None
    silent = run_console(None, tmp_path / "run.log")  # no screen: the log alone
    silent.print("hello")
    assert (tmp_path / "run.log").read_text() == "hello\n"


def test_clock():
    assert (clock(0), clock(59.6), clock(3725)) == ("0:00:00", "0:01:00", "1:02:05")


def test_a_wrapping_console_keeps_the_interval_unless_given_one(tmp_path):
    screen, buf = batch_console()
    outer = RunConsole(screen, log_every=7.0)  # what `search --seeds` hands each seed's search
    assert RunConsole(outer).log_every == 7.0
    assert RunConsole(outer, log_every=1.0).log_every == 1.0
    assert RunConsole(screen).log_every == 30.0
    RunConsole(screen, tmp_path / "run.log").rule("seed 1")
    assert "seed 1" in buf.getvalue() and (tmp_path / "run.log").read_text() == "--- seed 1 ---\n"
