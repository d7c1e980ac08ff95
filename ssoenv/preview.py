"""The picker's preview pane and copy key, run by fzf for the entry under the cursor.

    python -m ssoenv.preview FILE INDEX          # the preview text
    python -m ssoenv.preview --copy FILE INDEX   # the account id to the clipboard

FILE is what `write` put down for one picker: the entries in the picker's order
and, per sso-session, where its token lives. Fast on purpose (fzf runs this at
every cursor move): files only, no boto3, no network, no config parsing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ssoenv import cache, paths, text
from ssoenv.shellout import printable


def write(path, config, entries, emails: dict) -> None:
    """What the preview process needs for `entries` (0600, atomic)."""
    from ssoenv import creds

    sessions = {}
    for e in entries:
        if e.sso_session not in sessions:
            try:
                s = creds.session_of(config, e)
                sessions[e.sso_session] = {"name": s.name, "legacy": s.legacy, "start_url": s.start_url,
                                           "cache_key": s.cache_key}
            except Exception:  # a session the config lost: the preview says less
                sessions[e.sso_session] = {}
    from ssoenv import chain

    chained = {}  # chained profile -> its role ARN, source, session name, cache file
    for name in chain.sources(config):
        try:
            chained[name] = chain.describe(config, name)
        except Exception:  # a broken chain is no entry anyway
            pass
    # Entries are namedtuples: JSON writes each as a list of its fields, at C speed.
    cache.atomic_write_json(path, {"sessions": sessions, "entries": entries, "chained": chained,
                                   "emails": {f"{s}\x1f{a}": m for (s, a), m in emails.items() if m}},
                            compact=True, durable=False)  # lives as long as the picker


def _left(expires_at) -> str:
    when = cache.parse_time(expires_at) if isinstance(expires_at, str) else None
    if when is None:
        return ""
    seconds = int((when - cache.now()).total_seconds())
    if seconds <= 0:
        return "expired"
    return f"{text.duration(seconds)} left"


def describe(doc: dict, index: int) -> str:
    rows = doc.get("entries") or []
    if not 0 <= index < len(rows):
        return "(none)\n\nClears AWS_PROFILE, the AWS_* credentials and SSOENV_* from this shell.\n"
    if not rows[index]:  # gone from the account list since the picker opened
        return "(no longer in the account list)\n"
    session_name, account_id, name, role, profile, region = rows[index][:6]
    email = (doc.get("emails") or {}).get(f"{session_name}\x1f{account_id}", "")
    session = (doc.get("sessions") or {}).get(session_name)
    creds_state = token_state = "unknown"
    hop = (doc.get("chained") or {}).get(profile) if profile else None
    if session:
        if hop:
            role_file = Path(hop["cache_file"]) if hop.get("cache_file") else None
        elif session["legacy"]:
            role_file = paths.role_cache_file(account_id, role, start_url=session["start_url"])
        else:
            role_file = paths.role_cache_file(account_id, role, session_name=session["name"])
        data = cache.read_json(role_file) if role_file else None
        creds = data.get("Credentials") if isinstance(data, dict) else None
        left = _left(creds.get("Expiration")) if isinstance(creds, dict) else ""
        creds_state = f"cached, {left}" if left and left != "expired" else ("expired" if left else "not cached")
        token = cache.read_json(paths.token_cache_file(session["cache_key"]))
        left = _left(token.get("expiresAt")) if isinstance(token, dict) else ""
        token_state = left or "not logged in"
    fields = [("account", f"{name or '?'}  {account_id}"), ("email", email or "-"), ("role", role),
              ("profile", profile or "-"), ("sso-session", session_name), ("region", region or "-"),
              ("credentials", creds_state), ("sso token", token_state)]
    if hop:  # a chained role: assumed from its source profile
        fields[3:4] = [("profile", f"{profile} via {hop.get('source')}"), ("role arn", hop.get("role_arn")),
                       ("session", hop.get("session_name") or "the SSO user's name (looked up at first use)")]
    return "".join(f"{label:<12} {printable(str(value))}\n" for label, value in fields)


def copy_to_clipboard(text: str) -> None:
    """OSC 52 (terminals, tmux, over ssh), and the desktop's clipboard tool if any."""
    import base64
    import shutil
    import subprocess

    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\033]52;c;" + base64.b64encode(text.encode()).decode() + "\a")
    except OSError:
        pass
    for argv in (["wl-copy"], ["xclip", "-selection", "clipboard"], ["pbcopy"]):
        if shutil.which(argv[0]):
            try:
                subprocess.run(argv, input=text.encode(), timeout=5, check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except (OSError, subprocess.SubprocessError):
                pass
            return


def _wait_for(path: str, seconds: float = 2.0):
    """The picker writes the file while fzf draws: the first preview may come first."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        doc = cache.read_json(Path(path))
        if doc is not None or time.monotonic() > deadline:
            return doc
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    copy = argv[:1] == ["--copy"]
    if copy:
        argv = argv[1:]
    if len(argv) != 2:
        print("usage: python -m ssoenv.preview [--copy] FILE INDEX", file=sys.stderr)
        return 2
    doc = _wait_for(argv[0])
    try:
        index = int(argv[1].strip())
    except ValueError:
        return 2
    if not isinstance(doc, dict):
        print("(the picker's data is gone)")
        return 1
    if copy:
        rows = doc.get("entries") or []
        if 0 <= index < len(rows):
            copy_to_clipboard(rows[index][1])
        return 0
    sys.stdout.write(describe(doc, index))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
