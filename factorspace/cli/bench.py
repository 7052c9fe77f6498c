"""`factorspace bench`: what a search step costs, per recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from factorspace.cli.app import SetOpt, app, out, reports_errors
from factorspace.cli.search import DeviceOpt


@app.command()
@reports_errors
def bench(
    recipes: Annotated[list[Path], typer.Argument(help="recipes; ratios are to the first")],
    set_: SetOpt = None,
    device: DeviceOpt = "auto",
    batch_size: Annotated[int | None, typer.Option(help="default: the recipe's")] = None,
    steps: Annotated[int, typer.Option(help="timed steps (median reported)")] = 3,
    warmup: Annotated[int, typer.Option(help="untimed steps first")] = 1,
    update: Annotated[
        Literal["sequential", "simultaneous"] | None,
        typer.Option(help="the factors' update order (search.update) [default: the recipe's]"),
    ] = None,
    interleave: Annotated[
        bool,
        typer.Option(
            help="also time the recipes in one process, taking turns at each step: steadier "
            "ratios (needs every recipe's supernet in memory at once)"
        ),
    ] = False,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            help="measure each recipe in this many fresh processes, the recipes taking turns; "
            "times are the median over them, peak memory the largest (separate processes "
            "drift apart on a shared machine)",
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="also write the rows to FILE.json or FILE.csv")
    ] = None,
) -> None:
    """Median time of a search step and a forward/backward, peak memory, images/s, GFLOP/s."""
    from factorspace.bench import bench as run_bench
    from factorspace.run.device import resolve_device

    rows = run_bench(
        [str(r) for r in recipes],
        overrides=set_ or [],
        device=str(resolve_device(device)),
        batch_size=batch_size,
        steps=steps,
        warmup=warmup,
        update=update,
        interleave=interleave,
        rounds=rounds,
    )
    if out_file is not None:
        write_rows(rows, out_file)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"search step on {rows[0]['device']}, batch {rows[0]['batch_size']}")
    columns = ("recipe", "update", "fwd+bwd s", "step s", "fwd+bwd CPU s", "step CPU s")
    for col in (*columns, "img/s", "GFLOP/s", "peak MiB"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["recipe"],
            r["update"],
            *(
                f"{r[key]:.3f} ({r[f'{key}_ratio']:.2f}x)"
                for key in ("forward_backward_s", "step_s", "forward_backward_cpu_s", "step_cpu_s")
            ),
            f"{r['images_per_s']:.1f}",
            f"{r['gflop_per_s']:.1f}",
            f"{r['peak_memory_mib']:.0f} ({r['peak_memory_mib_ratio']:.2f}x)",
        )
    out.print(table)
    if rounds > 1:
        out.print(f"separate processes: median of {rounds} rounds, fwd+bwd CPU s per round:")
        for r in rows:
            per_round = ", ".join(f"{t:.3f}" for t in r["forward_backward_cpu_s_rounds"])
            out.print(f"  {r['recipe']}: {per_round}", highlight=False, soft_wrap=True)
    for r in rows:  # which path computed eq. 2's mixed activation, as a search's header says
        out.print(f"{r['recipe']}: mixed activation: {r['mixing']}", soft_wrap=True)
    if interleave:
        out.print(f"interleaved in one process (CPU s, median of {steps}):", highlight=False)
        for r in rows:
            out.print(
                f"  {r['recipe']}: fwd+bwd {r['forward_backward_interleaved_cpu_s']:.3f} "
                f"({r['forward_backward_interleaved_cpu_s_ratio']:.2f}x), step "
                f"{r['step_interleaved_cpu_s']:.3f} ({r['step_interleaved_cpu_s_ratio']:.2f}x)",
                highlight=False,
                soft_wrap=True,
            )
    if any(r["compile"] for r in rows):
        out.print(
            "first compiled step (compiling): "
            + ", ".join(f"{r['recipe']} {r['compile_s']:.1f} s" for r in rows if r["compile"])
        )


def write_rows(rows: list[dict], path: Path) -> None:
    """The bench rows as JSON (a list) or CSV (one line per recipe), by the file's suffix."""
    import csv
    import io

    from factorspace.errors import FactorspaceError
    from factorspace.run.atomic import atomic_write_text

    if path.suffix not in (".json", ".csv"):
        raise FactorspaceError(f"--out {path}: give a .json or .csv file")
    if path.suffix == ".json":
        atomic_write_text(path, json.dumps(rows, indent=2) + "\n")
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
