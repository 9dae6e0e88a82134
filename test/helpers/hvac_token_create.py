"""Creates tokens through authgate with the real hvac client (Debian's python3-hvac 0.11.2).

Run by test/token-create-hvac.test.ts with Debian's /usr/bin/python3. Everything comes from the
environment (a token on a command line would show in `ps`):

  AUTHGATE_URL          the gateway, e.g. http://127.0.0.1:8200
  AUTHGATE_ADMIN_TOKEN  the admin token, which creates the tokens
  SECRETS_FILE          where the tokens it saw are written, one a line, for the audit scan

Prints one JSON summary of what hvac returned, with no token or accessor in it. Exits non-zero
on anything unexpected.
"""

import json
import os

import hvac
from hvac_common import refused, seen

env = os.environ
url = env["AUTHGATE_URL"]


def without_secrets(auth):
    return {k: v for k, v in auth.items() if k not in ("client_token", "accessor")}


# An explicit token: hvac would otherwise take VAULT_TOKEN or ~/.vault-token.
admin = hvac.Client(url=url, token=env["AUTHGATE_ADMIN_TOKEN"])
created = admin.auth.token.create(
    policies=["reader"], ttl="1h", period=None, display_name="hvac", meta={"owner": "py"}
)
auth = created["auth"]
seen(auth["client_token"], auth["accessor"])

client = hvac.Client(url=url, token=auth["client_token"])
self_data = client.auth.token.lookup_self()["data"]
renewed = client.auth.token.renew_self(increment="30m")["auth"]
by_admin = admin.auth.token.lookup_accessor(auth["accessor"])["data"]
child = refused(lambda: client.auth.token.create(policies=["reader"]), "a created token creating")
role = refused(lambda: admin.auth.token.create(policies=["reader"], role_name="ci"), "a token role")
batch_auth = admin.auth.token.create(policies=["reader"], type="batch", ttl="10m")["auth"]
seen(batch_auth["client_token"])
batch_client = hvac.Client(url=url, token=batch_auth["client_token"])
batch = {
    "created": without_secrets(batch_auth),
    "lookup_self_type": batch_client.auth.token.lookup_self()["data"]["type"],
    "renew_self": refused(lambda: batch_client.auth.token.renew_self(), "renewing a batch token"),
    "revoke_self": refused(lambda: batch_client.auth.token.revoke_self(), "revoking a batch token"),
}
client.auth.token.revoke_self()
after = refused(lambda: client.auth.token.lookup_self(), "a revoked token")

LOOKUP_FIELDS = ("path", "display_name", "meta", "policies", "ttl", "orphan", "renewable", "num_uses")
print(
    json.dumps(
        {
            "created": without_secrets(auth),
            "client_token_is_authgates": auth["client_token"].startswith("ags."),
            "lookup_self": {k: self_data[k] for k in LOOKUP_FIELDS},
            "renewed_lease_duration": renewed["lease_duration"],
            "lookup_accessor_path": by_admin["path"],
            "child": child,
            "role": role,
            "batch": batch,
            "after_revoke": after,
        }
    )
)
