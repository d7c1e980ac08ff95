"""The table of subcommands: name -> (module, one-line help).

Its own module so that cli.py (dispatch) and complete.py (Tab completion) share it
without importing each other; the modules named here are imported only by name.
"""

from __future__ import annotations

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "configure": ("ssoenv.commands.configure", "add or update an sso-session in ~/.aws/config"),
    "login": ("ssoenv.commands.login", "log in to IAM Identity Center (browser PKCE or device code)"),
    "logout": ("ssoenv.commands.logout", "log out and remove cached SSO tokens and role credentials"),
    "refresh": ("ssoenv.commands.refresh", "renew the SSO token silently; exit 3 if only a login would do"),
    "status": ("ssoenv.commands.status", "show each sso-session: logged in, expiry, silent renewal"),
    "sync": ("ssoenv.commands.sync", "fetch every account and role you can reach"),
    "list": ("ssoenv.commands.list", "list accounts x roles (and their profiles)"),
    "use": ("ssoenv.commands.use", "print shell statements that switch to an account/role"),
    "pick": ("ssoenv.commands.pick", "fuzzy-pick an account/role, then print what `use` prints"),
    "exec": ("ssoenv.commands.exec", "run a command with an account/role's credentials"),
    "console": ("ssoenv.commands.console", "open the AWS console as an account/role"),
    "serve": ("ssoenv.commands.serve",
              "serve an account/role's credentials to SDKs on 127.0.0.1 (container endpoint)"),
    "env": ("ssoenv.commands.env", "print credentials in an `aws configure export-credentials` format"),
    "credential-process": ("ssoenv.commands.credential_process",
                           "print credentials for a credential_process = line"),
    "populate": ("ssoenv.commands.populate", "write one profile per account/role into ~/.aws/config"),
    "recover": ("ssoenv.commands.recover",
                "after a command failed on an expired SSO token: renew or log in (shell hook)"),
    "init": ("ssoenv.commands.init", "print the shell integration (bash, zsh, fish)"),
    "admin": ("ssoenv.commands.admin", "delegate administration; permission-set session duration"),
    "demo": ("ssoenv.commands.demo", "try ssoenv in a throwaway shell against a local emulator"),
    "doctor": ("ssoenv.commands.doctor", "check the setup and say what to fix"),
}
