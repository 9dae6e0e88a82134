"""Drives an authgate jwt mount with the real hvac client (Debian's python3-hvac 0.11.2), unchanged.

Run by test/hvac-jwt.test.ts with Debian's /usr/bin/python3. Everything comes from the
environment (a JWT or a token on a command line would show in `ps`):

  AUTHGATE_URL          the gateway
  AUTHGATE_ADMIN_TOKEN  reads the mount's role and configuration
  POD_JWT               a service-account token the role admits
  OTHER_JWT             a service-account token for another audience
  LOGIN_MOUNT, LOGIN_ROLE
  SECRETS_FILE          where the tokens it saw are written, for the audit scan

Prints one JSON summary of what hvac returned, no token in it. Exits non-zero on anything
unexpected.
"""

import json
import os
import sys

import hvac
from hvac_common import refused, seen

env = os.environ
url, mount, role = env["AUTHGATE_URL"], env["LOGIN_MOUNT"], env["LOGIN_ROLE"]

client = hvac.Client(url=url, token="")
login = client.auth.jwt.jwt_login(role, env["POD_JWT"], path=mount)
auth = login["auth"]
seen(auth["client_token"], auth["accessor"])
if client.token != auth["client_token"]:
    sys.exit("hvac: the login did not set the client's token")
summary = {
    "mount_type": login["mount_type"],
    "login": {k: v for k, v in auth.items() if k not in ("client_token", "accessor", "entity_id")},
    "lookup_self": {
        k: v
        for k, v in client.auth.token.lookup_self()["data"].items()
        if k in ("display_name", "meta", "path", "policies", "ttl")
    },
    "refused": refused(
        lambda: hvac.Client(url=url, token="").auth.jwt.jwt_login(role, env["OTHER_JWT"], path=mount),
        "a token for another audience",
    ),
}

admin = hvac.Client(url=url, token=env["AUTHGATE_ADMIN_TOKEN"])
summary["role"] = admin.auth.jwt.read_role(role, path=mount)["data"]
summary["roles"] = admin.auth.jwt.list_roles(path=mount)["data"]["keys"]
summary["config"] = admin.auth.jwt.read_config(path=mount)["data"]
summary["revoked"] = client.auth.token.revoke_self().status_code
print(json.dumps(summary, sort_keys=True))
