"""Data commands: ``synth``, ``validate``, ``pseudonymise``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, check_period, int_at_least, local_time, read_table, write_atomically
from riskmodel.apps.cli.exits import EXIT_DATA, EXIT_OK
from riskmodel.core.exceptions import ConfigError

__all__ = ["register", "DEFAULT_OUTPUT"]

DEFAULT_OUTPUT = Path("riskmodel-output")


def _write_dataset(data, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("crossings", "stays", "truth"):
        path = out / f"{name}.parquet"
        write_atomically(getattr(data, name), path)  # a killed run never leaves a half-written file
        paths[name] = path
    return paths


def _cmd_synth(args: argparse.Namespace) -> int:
    from riskmodel.core.datasets import NO_HIDDEN_RISK, make_crossings

    check_period(args.start, args.end)
    progress = Progress(args.quiet)
    progress(f"generating {args.travellers:,} travellers, {args.start} .. {args.end}, seed {args.seed}"
             + (", no hidden risk" if args.no_hidden_risk else ""))
    hidden = NO_HIDDEN_RISK if args.no_hidden_risk else {}
    data = make_crossings(args.travellers, args.start, args.end, seed=args.seed, covid=not args.no_covid, **hidden)
    paths = _write_dataset(data, Path(args.out))
    progress(f"wrote {len(data.crossings):,} crossings and {len(data.stays):,} stays to {args.out}")
    if not args.quiet:
        print(data.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    for name, path in paths.items():
        print(f"{name}: {path}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from riskmodel.core.schema import check_crossings, check_stays
    from riskmodel.core.sources.contracts import check_source

    path = Path(args.path)
    df = read_table(path)  # a CSV gets the contract's types (ids as text, datetimes parsed)
    checks = {"crossings": check_crossings, "stays": check_stays}
    problems = checks[args.table](df) if args.table in checks else check_source(args.table, df)
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        for p in problems:
            print(p)
        return EXIT_DATA
    print(f"{path}: {len(df):,} rows meet the {args.table} contract")
    return EXIT_OK


def _cmd_pseudonymise(args: argparse.Namespace) -> int:
    from riskmodel.core.privacy import KEY_ENV, MIN_KEY_BYTES, pseudonymise_file

    if not os.environ.get(KEY_ENV):  # the library's message offers key=, which no command-line user can pass
        raise ConfigError(f"no pseudonymisation key: set the environment variable {KEY_ENV} to a secret of at least "
                          f"{MIN_KEY_BYTES} characters from your secrets store before running the command (export {KEY_ENV}=...); "
                          "the command takes no key option, so the key never shows in the shell history or the process list.")
    # the library reads ids as text and writes atomically; it refuses a column that does not exist
    rows, columns = pseudonymise_file(args.input, args.output, args.columns)
    print(f"{rows:,} rows written to {args.output}; columns {columns} pseudonymised with the key in ${KEY_ENV}")
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``synth``, ``validate`` and ``pseudonymise``."""
    p = groups.top.add_parser("synth", help="write a synthetic crossings log, stays and ground truth as Parquet")
    p.add_argument("--out", default=str(DEFAULT_OUTPUT / "data"), help="output folder (default: %(default)s)")
    p.add_argument("--travellers", type=int_at_least(1), default=20_000, help="travellers (default: %(default)s)")
    p.add_argument("--start", type=local_time, default="2017-01-01", help="first day (default: %(default)s)")
    p.add_argument("--end", type=local_time, default="2023-12-31", help="last day (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--no-covid", action="store_true", help="no COVID collapse in 2020-2022")
    p.add_argument("--no-hidden-risk", action="store_true",
                   help="no hidden risk (latent per traveller, noise per stay, unrecorded land exits, drift): the older data")
    add_quiet(p)
    p.set_defaults(func=_cmd_synth)

    p = groups.top.add_parser("validate", help="check a Parquet or CSV table against the data contract")
    p.add_argument("path", help="file or folder of Parquet parts, or a CSV file")
    p.add_argument("--table", choices=("crossings", "stays", "presence_reports", "permit_applications", "enforcement"),
                   default="crossings", help="which contract (default: %(default)s)")
    p.set_defaults(func=_cmd_validate, inputs=("path",))

    p = groups.top.add_parser("pseudonymise", help="replace traveller and document ids by keyed-hash pseudonyms before storing data",
                              description="The key is read from the environment variable RISKMODEL_PSEUDONYM_KEY (a secret of at "
                                          "least 32 characters, from your secrets store); there is no key option, so the key never "
                                          "shows in the shell history or the process list.")
    p.add_argument("input", help="Parquet or CSV extract")
    p.add_argument("output", help="where to write the pseudonymised copy (.parquet or .csv)")
    p.add_argument("--columns", nargs="+", default=None,
                   help="identifier columns (default: every identifier column of the data contract present in the file)")
    p.set_defaults(func=_cmd_pseudonymise, inputs=("input",))
