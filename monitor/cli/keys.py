"""`monitor key`: signing keys for supervisors and camera services (docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.adapters.keys import write_key
from monitor.cli import app
from monitor.cli.output import out
from monitor.core.signature import SigningKey
from monitor.errors import InputError

key_app = typer.Typer(help="Signing keys: who may record, dismiss and grant leave.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("new")
def key_new(
    name: Annotated[str, typer.Option(help="The signer's name: a supervisor's own name, or a camera service's.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key (never overwritten).")],
    role: Annotated[str, typer.Option(help="supervisor, camera or console (the web console's key).")] = "supervisor",
) -> None:
    """生成签名密钥 — write a new private key file and print the [[signers]] entry for the configuration."""
    if role not in ("supervisor", "camera", "console"):
        raise InputError(f"--role {role!r}: use supervisor, camera or console")
    if not name.strip() or len(name) > 64:
        raise InputError("--name: give the signer's name (at most 64 characters)")
    key = SigningKey.generate(name.strip())
    write_key(out_file, key)
    out.print(f"已生成签名密钥 {out_file}（仅本人保存，权限 0600）。请管理员将下列内容加入大厅配置：", highlight=False)
    cameras = "\ncameras = []  # the camera ids this service runs; empty: every camera" if role == "camera" else ""
    typer.echo(f'\n[[signers]]\nname = "{key.name}"\nrole = "{role}"\npublic_key = "{key.public_text()}"{cameras}')
