import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ask, type Access } from './redis-server.js';

/** A Redis server as the tests administer it. */
export type Admin = Access & { port: number };

/** An ACL user of the tests, and the file that holds its password. */
export type AclUser = { user: string; file: string };

let users = 0;

/**
 * A new ACL user `authgate<n>` with `password` on every server of `on` (ACL rules are neither
 * replicated nor spread over a cluster: each server holds its own), allowed all commands, keys
 * and channels; its password file in `dir`.
 */
export const aclUser = async (on: Admin[], dir: string, password: string): Promise<AclUser> => {
  const user = `authgate${++users}`;
  for (const server of on)
    expect(await ask(server, 'ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all')).toBe('OK');
  const file = join(dir, `${user}-password`);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { user, file };
};

/** The user's only password on every server of `on` is now `next`; its file is left alone. */
export const resetPassword = async (on: Admin[], user: AclUser, next: string): Promise<void> => {
  for (const server of on)
    expect(await ask(server, 'ACL', 'SETUSER', user.user, 'resetpass', `>${next}`)).toBe('OK');
};

/** The user's password file now holds `next`, as a secret manager writes it. */
export const writePassword = (user: AclUser, next: string): void =>
  writeFileSync(user.file, `${next}\n`, { mode: 0o600 });

/** Drops every connection of `user` on the servers of `on`; how many there were. */
export const killClients = async (on: Admin[], user: string): Promise<number> => {
  let killed = 0;
  for (const server of on) killed += Number(await ask(server, 'CLIENT', 'KILL', 'USER', user));
  return killed;
};
