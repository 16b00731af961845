"""Signing key files: one JSON file per signer, readable by its owner only.

`{"name": "张三", "private_key": "<base64>"}`. The file is the signer's identity: keep it off shared
folders; the hall configuration holds only the public half (`[[signers]]`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from monitor.core.signature import SigningKey, private_key
from monitor.errors import InputError

KEY_ENV = "MONITOR_SIGNING_KEY"
"""The environment variable naming the key file of a process or a supervisor's shell."""


def write_key(path: Path, key: SigningKey) -> None:
    """Create the key file (mode 0600); an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: exists already; a key file is never overwritten (choose another --out)") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"name": key.name, "private_key": key.private_text()}, out, ensure_ascii=False)
        out.write("\n")


def read_key(path: Path) -> SigningKey:
    """A key file written by `monitor key new`; InputError names the file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such key file (create one with `monitor key new`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the key file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise InputError(f'{path}: not a key file: it needs "name" and "private_key"')
    try:
        return SigningKey(data["name"], private_key(str(data.get("private_key", ""))))
    except ValueError as exc:
        raise InputError(f"{path}: private_key: {exc}") from None


def key_from(explicit: Path | str | None) -> SigningKey:
    """The signing key named by `explicit` (--key, or the configuration), else by $MONITOR_SIGNING_KEY."""
    chosen = explicit or os.environ.get(KEY_ENV)
    if not chosen:
        raise InputError(
            f"no signing key: pass --key FILE or set {KEY_ENV} to your key file (`monitor key new` creates one; "
            "the hall's administrator adds its public key to [[signers]])"
        )
    return read_key(Path(chosen))
