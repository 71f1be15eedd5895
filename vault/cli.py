"""The `vault` command line. Commands are thin: parse, authenticate, call the library, print.

Errors are caught once, here, and printed as one line: `vault: <problem>; <what to do>`.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vault import __version__, access
from vault.access import ROLES
from vault.core import Vault
from vault.errors import IntegrityError, MissingSecret, UsageError, VaultError
from vault.models import ASSET_KINDS
from vault.sealing import DEFAULT_WORK_FACTOR
from vault.session import PUT_KINDS

# Piped output (scripts, logs) gets wide tables instead of rich's 80-column default.
_stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
_stderr = Console(stderr=True, highlight=False)


class VaultGroup(click.Group):
    """Turns every error into one line on stderr and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as error:
            click.echo(f"vault: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("vault: interrupted; an operation not reported done was not done", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as error:  # the last line of defence: a bug, reported without a traceback
            if os.environ.get("VAULT_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"vault: internal error ({error.__class__.__name__}: {error}); "
                "rerun with VAULT_DEBUG=1 and report it",
                err=True,
            )
            ctx.exit(70)


def secret(variable: str, prompt: str, confirm: bool = False) -> str:
    """A passphrase from the environment, else from the terminal, else a clear error."""
    value = os.environ.get(variable)
    if value:
        return value
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    raise MissingSecret(f"{variable} is not set and there is no terminal to ask", f"set {variable}")


@contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; yields a bytes-done callback."""
    if not _stderr.is_terminal:
        yield None
        return
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_stderr, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


class Context:
    """What every command needs: where the vault is and who is acting."""

    def __init__(self, home: Path, db_url: str | None, user: str | None) -> None:
        self.home = home
        self.db_url = db_url
        self.user = user
        self._vault: Vault | None = None

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            self._vault = Vault.open(self.home, self.db_url)
        return self._vault

    def login(self, action: str, arguments: dict[str, Any] | None = None):
        if not self.user:
            raise MissingSecret(
                "no acting member: VAULT_USER is not set", "set VAULT_USER or pass --user"
            )
        vault = self.vault  # a missing vault is reported before asking for a passphrase
        passphrase = secret("VAULT_PASSPHRASE", f"Passphrase for {self.user}")
        return vault.login(self.user, passphrase, action, arguments)

    def unseal(self):
        return self.vault.unseal(secret("VAULT_UNSEAL", "Vault unseal passphrase"))

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()


pass_context = click.make_pass_decorator(Context)


@click.group(cls=VaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    envvar="VAULT_HOME",
    default="vault",
    show_default=True,
    help="The vault directory (VAULT_HOME).",
)
@click.option(
    "--db",
    "db_url",
    envvar="VAULT_DB",
    help="SQLAlchemy URL of the metadata database (VAULT_DB); default: SQLite inside the vault.",
)
@click.option("--user", envvar="VAULT_USER", help="The acting crew member (VAULT_USER).")
@click.version_option(__version__, prog_name="vault")
@click.pass_context
def cli(ctx: click.Context, home: Path, db_url: str | None, user: str | None) -> None:
    """Encrypted, audited vault for a film production's scripts, plates, face models and renders."""
    ctx.obj = Context(home, db_url, user)
    ctx.call_on_close(ctx.obj.close)


# -- init ---------------------------------------------------------------------------------


@cli.command()
@click.option("--admin", required=True, help="Name of the first admin crew member.")
@click.option(
    "--production",
    default="Production",
    show_default=True,
    help="Production name for the studio certificates.",
)
@click.option(
    "--kdf-work-factor",
    type=click.IntRange(10, 22),
    default=DEFAULT_WORK_FACTOR,
    show_default=True,
    help="scrypt log2(N) for passphrase-sealed keys.",
)
@pass_context
def init(ctx: Context, admin: str, production: str, kdf_work_factor: int) -> None:
    """Create a new vault in VAULT_HOME with ADMIN as its first member."""
    admin_passphrase = os.environ.get("VAULT_PASSPHRASE") or secret(
        "VAULT_NEW_PASSPHRASE", f"New passphrase for {admin}", confirm=True
    )
    unseal = secret("VAULT_UNSEAL", "New vault unseal passphrase", confirm=True)
    vault = Vault.init(
        ctx.home, admin, admin_passphrase, unseal, ctx.db_url, production, kdf_work_factor
    )
    vault.close()
    click.echo(f"created vault {vault.config.vault_id} in {ctx.home} with admin {admin}")


# -- crew ---------------------------------------------------------------------------------


@cli.group()
def crew() -> None:
    """Add, list and revoke crew members."""


@crew.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(list(ROLES)),
    help="The member's role (gives default rights).",
)
@pass_context
def crew_add(ctx: Context, name: str, role: str) -> None:
    """Add crew member NAME with a new key sealed by their passphrase."""
    session = ctx.login("crew.add", {"name": name, "role": role})
    passphrase = secret("VAULT_NEW_PASSPHRASE", f"New passphrase for {name}", confirm=True)
    session.crew_add(name, role, passphrase)
    click.echo(f"added {name} as {role}")


@crew.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def crew_list(ctx: Context, as_json: bool) -> None:
    """List crew members."""
    members = ctx.login("crew.list").crew_list()
    if as_json:
        print_json(members)
        return
    table = Table("name", "role", "added", "by", "status")
    for m in members:
        table.add_row(
            m["name"],
            m["role"],
            m["created_at"][:19],
            m["created_by"] or "-",
            f"revoked {m['revoked_at'][:19]}" if m["revoked_at"] else "active",
        )
    _stdout.print(table)


@crew.command("revoke")
@click.argument("name")
@pass_context
def crew_revoke(ctx: Context, name: str) -> None:
    """Revoke crew member NAME: they can do nothing from now on."""
    ctx.login("crew.revoke", {"name": name}).crew_revoke(name)
    click.echo(f"revoked {name}")


# -- assets -------------------------------------------------------------------------------


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", required=True, type=click.Choice(PUT_KINDS), help="What the file is.")
@click.option("--shot", type=click.IntRange(min=0), help="The shot it belongs to.")
@click.option("--name", help="Display name (default: the file name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def put(
    ctx: Context, path: Path, kind: str, shot: int | None, name: str | None, as_json: bool
) -> None:
    """Encrypt PATH into the vault. The last word printed is the new asset id."""
    session = ctx.login("put", {"path": str(path), "kind": kind, "shot": shot, "name": name})
    total = path.stat().st_size if path.is_file() else None
    with byte_progress(f"encrypting {path.name}", total) as progress:
        asset = session.put(path, kind, shot=shot, name=name, progress=progress)
    if as_json:
        print_json(asset)
    else:
        click.echo(
            f"stored {asset['kind']} {asset['name']!r} ({asset['size']} bytes) as {asset['id']}"
        )


@cli.command()
@click.argument("asset_id", metavar="ASSET")
@click.option(
    "-o", "--out", required=True, type=click.Path(path_type=Path), help="Where to write the file."
)
@click.option(
    "--raw", is_flag=True, help="The file as stored, unmarked (security officers only; logged)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def get(ctx: Context, asset_id: str, out: Path, raw: bool, as_json: bool) -> None:
    """Write ASSET to OUT (needs a grant and the unseal passphrase).

    Footage, renders and scripts leave as your own marked copy, recorded like an export:
    video carries your forensic watermark and a signed C2PA manifest; a script its canary
    variants (a PDF when OUT ends in .pdf: your name on every page, signed by the studio)."""
    from swap.cli import frame_progress

    session = ctx.login("get", {"asset": asset_id, "out": str(out)})
    keys = ctx.unseal()
    if not raw and session.asset_kind(asset_id) in ("footage", "render"):
        with frame_progress("marking your copy", "frames") as frames:
            result = session.get(asset_id, out, keys, raw=raw, frames=frames)
    else:
        with byte_progress(f"decrypting {asset_id}", None) as progress:
            result = session.get(asset_id, out, keys, progress=progress, raw=raw)
    if as_json:
        print_json(result)
    elif "format" in result:
        click.echo(f"wrote your copy {result['copy_id']} ({result['format']}) to {out}")
        click.echo(f"  {result['confidence']}")
    elif "copy_id" in result:
        click.echo(f"wrote your marked copy {result['copy_id']} to {out} (an MP4 file)")
    else:
        click.echo(f"wrote {result['name']!r} ({result['size']} bytes) to {out}")


@cli.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def ls(ctx: Context, as_json: bool) -> None:
    """List the assets you may read."""
    assets = ctx.login("ls").ls()
    if as_json:
        print_json(assets)
        return
    table = Table("id", "kind", "shot", "name", "size", "added", "by")
    for a in assets:
        table.add_row(
            a["id"],
            a["kind"],
            "" if a["shot"] is None else str(a["shot"]),
            a["name"],
            str(a["size"]),
            a["added_at"][:19],
            a["added_by"],
        )
    _stdout.print(table)


# -- grants -------------------------------------------------------------------------------


def _scopes(
    assets: tuple[str, ...], shots: tuple[int, ...], kinds: tuple[str, ...]
) -> list[tuple[str, str]]:
    scopes = (
        [("asset", a) for a in assets]
        + [("shot", str(s)) for s in shots]
        + [("kind", k) for k in kinds]
    )
    if not scopes:
        raise UsageError("say what to grant or revoke", "use --asset ID, --shot N or --kind KIND")
    return scopes


def _rule_command(effect: str):
    verb = "grant" if effect == "allow" else "revoke"

    @click.argument("member", metavar="NAME")
    @click.option("--asset", "assets", multiple=True, help="One asset id (repeatable).")
    @click.option(
        "--shot",
        "shots",
        multiple=True,
        type=click.IntRange(min=0),
        help="Every asset of a shot (repeatable).",
    )
    @click.option(
        "--kind",
        "kinds",
        multiple=True,
        type=click.Choice(ASSET_KINDS),
        help="Every asset of a kind (repeatable).",
    )
    @pass_context
    def command(
        ctx: Context,
        member: str,
        assets: tuple[str, ...],
        shots: tuple[int, ...],
        kinds: tuple[str, ...],
    ) -> None:
        scopes = _scopes(assets, shots, kinds)
        session = ctx.login(verb, {"member": member, "scopes": scopes})
        for scope, value in scopes:
            session.set_rule(member, scope, value, effect)
            click.echo(
                f"{'granted' if effect == 'allow' else 'revoked'} {member} read on {scope} {value}"
            )

    command.__doc__ = (
        "Give NAME read access to assets, shots or kinds."
        if effect == "allow"
        else "Take read access away from NAME (overrides role defaults)."
    )
    return cli.command(verb)(command)


grant = _rule_command("allow")
revoke = _rule_command("deny")


# -- shots, renders, provenance -----------------------------------------------------------


def _settings(pairs: tuple[str, ...]) -> dict[str, str]:
    from swap.backends import parse_settings
    from swap.errors import SwapError

    try:
        return parse_settings(pairs)
    except SwapError as error:
        raise UsageError(error.problem, error.fix) from None


@cli.group()
def shot() -> None:
    """Shots: a plate, the face put on it, and the swap settings."""


@shot.command("add")
@click.argument("number", type=click.IntRange(min=0))
@click.option("--plate", required=True, metavar="ASSET", help="The footage asset to swap.")
@click.option("--face", required=True, metavar="ASSET", help="A face reference or model asset.")
@click.option(
    "--backend", default="landmark", show_default=True, help="landmark, autoencoder or a plug-in."
)
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE", help="A backend setting.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def shot_add(
    ctx: Context,
    number: int,
    plate: str,
    face: str,
    backend: str,
    pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Bind shot NUMBER to a plate and a face."""
    settings = _settings(pairs)
    arguments = {"shot": number, "plate": plate, "face": face, "backend": backend}
    added = ctx.login("shot.add", arguments | {"settings": settings}).shot_add(
        number, plate, face, backend, settings
    )
    if as_json:
        print_json(added)
    else:
        click.echo(f"shot {number}: plate {plate}, face {face}, backend {backend}")


@shot.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def shot_list(ctx: Context, as_json: bool) -> None:
    """List the shots and how many renders each has."""
    shots = ctx.login("shot.list").shot_list()
    if as_json:
        print_json(shots)
        return
    table = Table("shot", "plate", "face", "backend", "settings", "renders", "by")
    for s in shots:
        settings = " ".join(f"{k}={v}" for k, v in s["settings"].items())
        table.add_row(
            str(s["shot"]),
            s["plate"],
            s["face"],
            s["backend"],
            settings,
            str(s["renders"]),
            s["created_by"],
        )
    _stdout.print(table)


@cli.command()
@click.option("--shot", "number", required=True, type=click.IntRange(min=0), help="The shot.")
@click.option(
    "--signed/--unsigned",
    default=True,
    show_default=True,
    help="Sign a C2PA manifest onto the render (the default). --unsigned is logged.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def render(ctx: Context, number: int, signed: bool, device: str, as_json: bool) -> None:
    """Swap shot N inside the vault into its next master render. Prints the render id."""
    from swap.cli import frame_progress

    session = ctx.login("render", {"shot": number, "device": device, "signed": signed})
    keys = ctx.unseal()
    with frame_progress(f"rendering shot {number}", "frames") as progress:
        done = session.render(keys, number, device=device, signed=signed, progress=progress)
    if as_json:
        print_json(done)
        return
    state = "signed" if done["signed"] else "UNSIGNED"
    click.echo(
        f"shot {number} render {done['render']}: {done['frames']} frames, {state}, "
        f"asset {done['asset']}, {done['seconds']} s"
    )
    click.echo(done["render_id"])


@cli.command()
@click.option("--shot", "number", required=True, type=click.IntRange(min=0), help="The shot.")
@click.option("--to", "recipient", required=True, metavar="NAME", help="Who the copy is for.")
@click.option(
    "-o", "--out", required=True, type=click.Path(path_type=Path), help="The MP4 to write."
)
@click.option("--render", "render_number", type=click.IntRange(min=1), help="Default: the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def export(
    ctx: Context, number: int, recipient: str, out: Path, render_number: int | None, as_json: bool
) -> None:
    """Write NAME's own marked and signed copy of a shot's render. Prints the copy id."""
    from swap.cli import frame_progress

    arguments = {"shot": number, "to": recipient, "out": str(out), "render": render_number}
    session = ctx.login("export", arguments)
    keys = ctx.unseal()
    with frame_progress(f"marking {recipient}'s copy", "frames") as progress:
        copy = session.export(keys, number, recipient, out, render_number, progress)
    if as_json:
        print_json(copy)
        return
    click.echo(f"wrote {out}: {recipient}'s copy of shot {number} render {copy['render_number']}")
    click.echo(copy["copy_id"])


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--by-mark/--no-mark",
    default=True,
    show_default=True,
    help="Without a valid manifest, look the file up by its watermark.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def verify(ctx: Context, path: Path, by_mark: bool, as_json: bool) -> None:
    """Check FILE's C2PA manifest against the studio root and say what it claims.

    A file whose manifest is missing or broken is looked up by its forensic watermark among
    the copies the vault issued (needs a member with the trace right and the unseal
    passphrase; logged)."""
    from vault.verify import find_copy_by_mark, verify_file

    report = verify_file(ctx.vault, path)
    is_video = report.credentials == "C2PA"
    if by_mark and is_video and report.provenance.state in ("No manifest", "Invalid"):
        if ctx.user:
            session = ctx.login("verify.mark", {"file": str(path)})
            if session.may(access.TRACE):
                find_copy_by_mark(session, ctx.unseal(), report)
            else:
                report.notes.append("looking a file up by its watermark needs the trace right")
        else:
            report.notes.append("set VAULT_USER to look the file up by its watermark")
    if as_json:
        print_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=1e-6,
    show_default=True,
    help="Accuse only below this false-accusation probability.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--report",
    "page",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the evidence as a self-contained HTML page (plots and pictures).",
)
@pass_context
def trace(ctx: Context, path: Path, threshold: float, as_json: bool, page: Path | None) -> None:
    """Find which render FILE comes from and whose copy it was (logged)."""
    session = ctx.login("trace", {"file": str(path), "threshold": threshold})
    report = session.trace(ctx.unseal(), path, threshold, page)
    if page is not None:
        from vault.layout import write_file_atomically
        from vault.trace_page import render_page

        write_file_atomically(page, render_page(report).encode())
    if as_json:
        print_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line)


# -- audit --------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """Read, verify and checkpoint the tamper-evident audit log."""


@audit.command("log")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--who", help="Only entries by this member.")
@click.option("--asset", help="Only entries about this asset.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N entries.")
@pass_context
def audit_log(
    ctx: Context, as_json: bool, who: str | None, asset: str | None, limit: int | None
) -> None:
    """Show audit entries."""
    entries = ctx.login("audit.log", {"who": who, "asset": asset}).audit_log(who, asset, limit)
    if as_json:
        print_json(entries)
        return
    table = Table("#", "time", "who", "action", "asset", "outcome", "reason", expand=False)
    for e in entries:
        style = None if e["outcome"] == "ok" else "red"
        table.add_row(
            str(e["seq"]),
            e["time"][:19],
            e["actor"] or "-",
            e["action"],
            e["asset"] or "",
            e["outcome"],
            e["reason"] or "",
            style=style,
        )
    _stdout.print(table)


@audit.command("verify")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint kept outside the vault.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def audit_verify(ctx: Context, against: Path | None, as_json: bool) -> None:
    """Recompute the Merkle tree, check every signature and the checkpoints."""
    kept = None
    if against is not None:
        try:
            kept = against.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read checkpoint {against}: {exc}",
                "give the file `vault audit checkpoint` wrote",
            ) from exc
    report = ctx.login("audit.verify", {"against": str(against) if against else None}).audit_verify(
        kept
    )
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        extra = f"; extends the kept checkpoint at size {report.against_size}" if against else ""
        click.echo(f"audit log OK: {report.entries} entries, root {report.root}{extra}")
    else:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}")
        click.echo(
            f"audit log FAILED verification: {report.problem_count} problem(s) "
            f"in {report.entries} entries"
        )
    if not report.ok:
        click.get_current_context().exit(IntegrityError.exit_code)


@audit.command("checkpoint")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write it to this file.",
)
@pass_context
def audit_checkpoint(ctx: Context, out: Path | None) -> None:
    """Sign and print a checkpoint of the log (C2SP tlog-checkpoint); keep it elsewhere."""
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"the directory {out.parent} does not exist", "create it first")
    session = ctx.login("audit.checkpoint")
    note = session.audit_checkpoint(ctx.unseal())
    if out is not None:
        try:
            out.write_text(note, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}", "choose another path") from exc
    click.echo(note, nl=False)


def main() -> None:
    cli(prog_name="vault")
