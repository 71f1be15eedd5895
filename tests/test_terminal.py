"""On a terminal: missing secrets are prompted for, long operations show a progress bar."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time

from conftest import ADMIN, ADMIN_PASS, UNSEAL, write_file


def run_on_terminal(args: list[str], env: dict[str, str], answers: list[bytes], timeout=30):
    """Run `vault` on a pseudo-terminal, answering each prompt in turn; returns (code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "vault", *args], env)
    screen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
        # click prints "Prompt:" and getpass then turns echo off (flushing input) and
        # prints " ": answer only after that space, or the answer is echoed and lost.
        if pending and screen.endswith(b": "):
            os.write(fd, pending.pop(0) + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace")


def base_env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return {**env, "VAULT_HOME": str(home), "VAULT_USER": ADMIN, "COLUMNS": "120"}


def test_init_and_put_prompt_for_passphrases_and_show_progress(home, tmp_path) -> None:
    env = base_env(home)
    code, screen = run_on_terminal(
        ["init", "--admin", ADMIN, "--kdf-work-factor", "10"],
        env,
        [ADMIN_PASS.encode(), ADMIN_PASS.encode(), UNSEAL.encode(), UNSEAL.encode()],
    )
    assert code == 0, screen
    assert "New passphrase for sec" in screen and "Repeat for confirmation" in screen
    assert ADMIN_PASS not in screen  # hidden input

    source = write_file(tmp_path / "plate.mov", 40_000_000)
    code, screen = run_on_terminal(
        ["put", str(source), "--kind", "footage"], env, [ADMIN_PASS.encode()]
    )
    assert code == 0, screen
    assert "Passphrase for sec" in screen
    assert "encrypting plate.mov" in screen  # the progress bar's label
    assert screen.strip().split()[-1].isalnum()


def test_wrong_passphrase_at_the_prompt_is_one_line(home) -> None:
    env = base_env(home)
    run_on_terminal(
        ["init", "--admin", ADMIN, "--kdf-work-factor", "10"],
        env,
        [ADMIN_PASS.encode(), ADMIN_PASS.encode(), UNSEAL.encode(), UNSEAL.encode()],
    )
    code, screen = run_on_terminal(["ls"], env, [b"not-the-passphrase"])
    assert code == 3
    assert "vault: cannot act as 'sec': wrong passphrase" in screen and "Traceback" not in screen
