"""Drives authgate with the real hvac client (Debian's python3-hvac 0.11.2), unchanged.

Run by test/hvac-client.test.ts with Debian's /usr/bin/python3. Everything comes from the
environment (a JWT or a token on a command line would show in `ps`):

  AUTHGATE_URL          the gateway, e.g. http://127.0.0.1:8200
  AUTHGATE_ADMIN_TOKEN  writes the secrets the workload then reads
  POD_JWT               the pod's service-account token
  LOGIN_MOUNT, LOGIN_ROLE
  KV_DIR, OTHER_DIR     a folder of secret/ the workload may read, and one it may not
  SECRET_V1, SECRET_V2  the values of versions 1 and 2 of secret/<KV_DIR>/db
  IDENTITY_ROLE
  SECRETS_FILE          where the tokens it saw are written, one a line, for the audit scan

Prints one JSON summary of what hvac returned: no token and no secret value in clear (secret
values as SHA-256, identity tokens as their claims). Exits non-zero on anything unexpected: an
exception where none was expected, or no exception where one was.
"""

import base64
import hashlib
import json
import os
import sys
import warnings

import hvac
from hvac_common import refused, seen

env = os.environ


def sha256(value):
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def hashed(data):
    """A KV version's data with every value hashed."""
    return {k: sha256(v) for k, v in data.items()}


def kv_version(answer):
    return {"data": hashed(answer["data"]["data"]), "metadata": answer["data"]["metadata"]}


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


url = env["AUTHGATE_URL"]
ns, other = env["KV_DIR"], env["OTHER_DIR"]
# An explicit token (even empty): hvac would otherwise take VAULT_TOKEN or ~/.vault-token.
admin = hvac.Client(url=url, token=env["AUTHGATE_ADMIN_TOKEN"])
kv = admin.secrets.kv.v2
written = [
    kv.create_or_update_secret(path=ns + "/db", secret={"password": env["SECRET_V1"]}, cas=0),
    kv.create_or_update_secret(path=ns + "/db", secret={"password": env["SECRET_V2"]}, cas=1),
]
kv.create_or_update_secret(path=ns + "/nested/api", secret={"key": env["SECRET_V1"]})
kv.create_or_update_secret(path=other + "/db", secret={"password": env["SECRET_V1"]})

client = hvac.Client(url=url, token="")
login = client.auth.kubernetes.login(env["LOGIN_ROLE"], env["POD_JWT"], mount_point=env["LOGIN_MOUNT"])
auth = login["auth"]
seen(auth["client_token"], auth["accessor"])
if client.token != auth["client_token"]:
    sys.exit("hvac: the login did not set the client's token")
summary = {
    "login": {k: v for k, v in auth.items() if k not in ("client_token", "accessor", "entity_id")},
    "is_authenticated": client.is_authenticated(),
    # What a deployment check asks first (sys/init, sys/seal-status).
    "is_initialized": client.sys.is_initialized(),
    "is_sealed": client.sys.is_sealed(),
}
self_ = client.auth.token.lookup_self()["data"]
if self_["id"] != client.token or self_["accessor"] != auth["accessor"]:
    sys.exit("hvac: lookup_self named another token")
summary["lookup_self"] = {k: v for k, v in self_.items() if k not in ("id", "accessor", "entity_id")}
summary["renew_self"] = client.auth.token.renew_self(increment="2h")["auth"]["lease_duration"]
# The deprecated Client.renew_token(), still in 0.11.2, sends {"increment": null}: Vault reads it
# as no increment. Its DeprecationWarnings are kept from stderr.
with warnings.catch_warnings(record=True):
    summary["renew_token"] = client.renew_token()["auth"]["lease_duration"]

kv = client.secrets.kv.v2
summary["kv"] = {
    "written": [w["data"] for w in written],
    "read": kv_version(kv.read_secret_version(path=ns + "/db")),
    "read_version_1": kv_version(kv.read_secret_version(path=ns + "/db", version=1)),
    "list": kv.list_secrets(path=ns)["data"]["keys"],
    "list_strict_http": hvac.Client(url=url, token=client.token, strict_http=True)
    .secrets.kv.v2.list_secrets(path=ns)["data"]["keys"],
    "missing": refused(lambda: kv.read_secret_version(path=ns + "/missing"), "a missing secret"),
}

signed = client.secrets.identity.generate_signed_id_token(name=env["IDENTITY_ROLE"])["data"]
seen(signed["token"])
summary["identity"] = {"client_id": signed["client_id"], "ttl": signed["ttl"], "claims": claims(signed["token"])}
# A downstream service asking whether the token checks out (the admin token: the dev policies
# grant a workload no introspection).
ids = admin.secrets.identity
summary["introspect"] = {
    "signed": ids.introspect_signed_id_token(token=signed["token"]),
    "client_id": ids.introspect_signed_id_token(token=signed["token"], client_id=signed["client_id"]),
    "other_client_id": ids.introspect_signed_id_token(token=signed["token"], client_id="someone-else"),
    "pod_jwt": ids.introspect_signed_id_token(token=env["POD_JWT"]),
}

summary["refused"] = {
    "read_other_namespace": refused(
        lambda: kv.read_secret_version(path=other + "/db"), "a read of another namespace"
    ),
    "write_own_namespace": refused(
        lambda: kv.create_or_update_secret(path=ns + "/db", secret={"password": "mine"}), "a write"
    ),
}

# What an operator debugging a login reads: the mounts, the role and the mount's configuration
# (the admin token; the dev policies grant none of it to a workload).
k8s = admin.auth.kubernetes
mount, role = env["LOGIN_MOUNT"], env["LOGIN_ROLE"]
engines = admin.sys.list_mounted_secrets_engines()
summary["mounts"] = {
    "secrets_engines": {p: [m["type"], m["options"]] for p, m in engines["data"].items()},
    "engines_at_top_level": all(engines.get(p) == m for p, m in engines["data"].items()),
    # What hvac's own helpers read from that table and from the tune endpoint.
    "kv_version": admin.sys.retrieve_mount_option("secret", "version"),
    "tune": admin.sys.read_mount_configuration("secret")["data"],
    "role": k8s.read_role(role, mount_point=mount),
    "roles": k8s.list_roles(mount_point=mount),
    # authgate's own block is left to the HTTP tests.
    "config": {k: v for k, v in k8s.read_config(mount_point=mount).items() if k != "authgate"},
    "missing_role": refused(lambda: k8s.read_role("no-such-role", mount_point=mount), "a missing role"),
    "create_role": refused(
        lambda: k8s.create_role("added", ["app"], ["default"], mount_point=mount), "a role write"
    ),
    "workload_read_role": refused(
        lambda: client.auth.kubernetes.read_role(role, mount_point=mount), "a workload's role read"
    ),
    # `vault audit list`; enabling a device is refused, as a role write is.
    "audit_devices": {
        p: [d["type"], sorted(d["options"])]
        for p, d in admin.sys.list_enabled_audit_devices()["data"].items()
    },
    "enable_audit": refused(
        lambda: admin.sys.enable_audit_device("file", path="more", options={"file_path": "stdout"}),
        "an audit device write",
    ),
}

# An operator's calls on another token: a second login's, made with the admin token. The token
# travels in the body; the admin client's own token stays its own.
other = hvac.Client(url=url, token="")
target = other.auth.kubernetes.login(
    env["LOGIN_ROLE"], env["POD_JWT"], mount_point=env["LOGIN_MOUNT"]
)["auth"]
seen(target["client_token"], target["accessor"])
named, tokens = target["client_token"], admin.auth.token
looked = tokens.lookup(named)["data"]
renewed = tokens.renew(named, increment="2h")["auth"]
by_accessor = tokens.renew_accessor(target["accessor"], increment="90m")["auth"]
# The Client methods of older hvac, still in 0.11.2: renew_token(token) sends {"increment": null}.
with warnings.catch_warnings(record=True):
    legacy_lookup = admin.lookup_token(named)["data"]
    legacy_renew = admin.renew_token(named)["auth"]
summary["token_ops"] = {
    "lookup": {
        "names_it": looked["id"] == named and looked["accessor"] == target["accessor"],
        "display_name": looked["display_name"],
        "policies": looked["policies"],
    },
    "renew": {
        "names_it": renewed["client_token"] == named,
        "lease_duration": renewed["lease_duration"],
    },
    "renew_accessor": {
        "client_token": by_accessor["client_token"],
        "lease_duration": by_accessor["lease_duration"],
    },
    "lookup_token": legacy_lookup["id"] == named,
    "renew_token": legacy_renew["lease_duration"],
    "admin_token_unchanged": admin.token == env["AUTHGATE_ADMIN_TOKEN"],
    "refused_to_workload": refused(
        lambda: client.auth.token.lookup(named), "a workload's lookup of another token"
    ),
    "revoke": tokens.revoke(named).status_code,
    "after_revoke": {
        "lookup": refused(lambda: tokens.lookup(named), "a lookup of a revoked token"),
        "renew": refused(lambda: tokens.renew(named), "a renewal of a revoked token"),
        "revoke_token": admin.revoke_token(named) is None,
    },
}

summary["revoke_self"] = client.auth.token.revoke_self().status_code
summary["after_revoke"] = {
    "lookup_self": refused(client.auth.token.lookup_self, "a lookup of a revoked token"),
    "is_authenticated": client.is_authenticated(),
}
print(json.dumps(summary))
