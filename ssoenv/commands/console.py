"""ssoenv console [TARGET]: open the AWS console as an account/role (see ssoenv/console.py)."""

from __future__ import annotations


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    p.add_argument("--federation", action="store_true",
                   help="sign in with the role's credentials (no portal session needed in the browser)")
    p.add_argument("--destination", metavar="URL_OR_SERVICE",
                   help="a console URL, or a service name such as s3 or ec2")
    p.add_argument("--region", help="the console's region (default: the entry's, else the SSO region)")
    p.add_argument("--print", dest="print_url", action="store_true",
                   help="print the URL on stdout instead of opening it (a --federation URL is a "
                        "credential for 15 minutes)")
    p.epilog = "Without TARGET, the shell's active entry."


def run(args) -> int:
    from ssoenv import awsconfig, targets
    from ssoenv.console import open_console

    config = awsconfig.load()
    # listed: a link to an account or role not in the account list would open, then fail there
    entry = targets.select(config, **targets.named(args), default_active=True, need_name=False, listed=True)
    return open_console(config, entry, federation=args.federation, destination=args.destination,
                        region=args.region, print_url=args.print_url)
