import type { FastifyInstance, FastifyRequest } from 'fastify';
import { configReadData, jwtConfigReadData, jwtRoleReadData, roleReadData } from '../../auth/index.js';
import type { AuthMountConfig } from '../../config/index.js';
import { AuthgateError } from '../../errors.js';
import { isList } from '../acl-hook.js';
import type { AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { fromConfigFile, unsupportedOperation, unsupportedPath } from './config-file-answers.js';

export type AuthMountRouteDeps = {
  /** The auth mounts of authgate.yaml, by path (`kubernetes`, `team/k8s`). */
  mounts: ReadonlyMap<string, AuthMountConfig>;
};

type NameParams = { Params: { name: string } };

const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

/** A role of `mount` as a role read answers it, in its plugin's shape; undefined when there is none. */
const roleRead = (mount: AuthMountConfig, name: string): Record<string, unknown> | undefined => {
  if (mount.type === 'jwt') {
    const role = mount.roles.get(name);
    return role && jwtRoleReadData(role);
  }
  const role = mount.roles.get(name);
  return role && roleReadData(role);
};

/**
 * The read side of an auth mount's configuration, for operators debugging a login
 * (`vault read auth/<mount>/role/<name>`, `vault list auth/<mount>/role`, `vault read
 * auth/<mount>/config`), answered from authgate.yaml in the shapes of Vault's kubernetes plugin
 * (`roleReadData`, `configReadData`) or JWT plugin (`jwtRoleReadData`, `jwtConfigReadData`). Every route is ACL-guarded: a caller needs `read` (or
 * `list`) on the path, as in Vault, whose default policy grants neither. A role the mount does
 * not have is Vault's 404 with no message (names are case-insensitive, as Vault's); a mount that
 * is not configured has no routes, so it gets the router's `no handler for route` 404. Writes are
 * 400, saying where the roles and the configuration live ({@link fromConfigFile}); methods the
 * paths lack in Vault (PATCH; DELETE of the config) are 405 (app.ts).
 */
export const registerAuthMountRoutes = (app: FastifyInstance, deps: AuthMountRouteDeps): void => {
  for (const [mountPath, mount] of deps.mounts) {
    const base = `/v1/auth/${mountPath}`;
    const rolesRefused = () =>
      fromConfigFile(
        `the roles of auth/${mountPath}/ are`,
        `auth.${mountPath}.roles`,
        'auth_roles_read_only',
      );

    // Vault's `role/?`: a list and nothing else (a plain read is 405).
    const listRoles = async (request: FastifyRequest) => {
      if (!isList(request)) throw unsupportedOperation('auth_role_list_only');
      const keys = [...mount.roles.keys()].sort();
      // As Vault: nothing to list is a 404 with no message.
      if (keys.length === 0) throw new AuthgateError('NOT_FOUND', { reason: 'auth_roles_none' });
      return envelope(request.id, { data: { keys }, mountType: mount.type });
    };
    app.get(`${base}/role`, guarded, listRoles);
    app.get(`${base}/role/`, guarded, listRoles);

    app.get<NameParams>(`${base}/role/:name`, guarded, async (request) => {
      // A list of `role/<name>/` matches no pattern of the plugin.
      if (isList(request)) throw unsupportedPath('auth_role_unsupported_path');
      const data = roleRead(mount, request.params.name.toLowerCase());
      if (data === undefined) throw new AuthgateError('NOT_FOUND', { reason: 'auth_role_not_found' });
      return envelope(request.id, { data, mountType: mount.type });
    });
    app.route<NameParams>({
      method: ['POST', 'PUT', 'DELETE'],
      url: `${base}/role/:name`,
      // Vault's ExistenceCheck: writing a role that exists needs `update`, a new one `create`.
      config: {
        acl: {
          exists: async (request) => mount.roles.has((request.params as { name: string }).name.toLowerCase()),
        },
      } satisfies AclRouteConfig,
      handler: async () => {
        throw rolesRefused();
      },
    });

    app.get(`${base}/config`, guarded, async (request) => {
      if (isList(request)) throw unsupportedOperation('auth_config_unsupported_operation');
      const data = mount.type === 'jwt' ? jwtConfigReadData(mount) : configReadData(mount);
      return envelope(request.id, { data, mountType: mount.type });
    });
    app.route({
      method: ['POST', 'PUT'],
      url: `${base}/config`,
      ...guarded,
      handler: async () => {
        throw fromConfigFile(
          `the configuration of auth/${mountPath}/ is`,
          `auth.${mountPath}`,
          'auth_config_read_only',
        );
      },
    });
  }
};
