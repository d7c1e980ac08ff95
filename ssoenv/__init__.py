"""ssoenv: AWS IAM Identity Center in your shell."""

__version__ = "0.1.0"
