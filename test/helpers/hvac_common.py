"""What the hvac scripts of test/helpers share: refusals as Vault's errors, and the secrets file."""

import os
import sys

import hvac.exceptions


def refused(call, what):
    """The hvac exception `call` raises (class and Vault's errors); exits if it raises none."""
    try:
        call()
    except hvac.exceptions.VaultError as e:
        return {"exception": type(e).__name__, "errors": e.errors}
    sys.exit("hvac: " + what + " was not refused")


def seen(*secrets):
    """Records tokens the script saw in SECRETS_FILE, one a line, for the audit secrets scan."""
    with open(os.environ["SECRETS_FILE"], "a") as f:
        f.write("".join(s + "\n" for s in secrets))
