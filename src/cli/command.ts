import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/index.js';
import { printable } from '../lib/printable.js';

/** A usage mistake (a bad flag or value): printed with the command's usage, exit 2. */
export class UsageError extends Error {}

/** Thrown by {@link parseFlags} on `--help`/`-h`: the command's usage goes to stdout, exit 0. */
class HelpRequested extends Error {}

/** What one command prints for `--help`; `authgate --help` lists the synopsis and the summary. */
export type CommandUsage = {
  /** The command line, e.g. `authgate server [--config FILE]`. */
  synopsis: string;
  /** One line: what the command does. */
  summary: string;
  /** The options, one a line, or more to say. */
  details?: string;
};

/** The usage text of one command, as `--help` prints it. */
export const usageText = (u: CommandUsage): string =>
  `Usage:\n  ${u.synopsis}\n\n${u.summary.charAt(0).toUpperCase()}${u.summary.slice(1)}.\n${u.details === undefined ? '' : `\n${u.details}`}`;

/** The synopsis and summary of a command, for the list of `authgate --help`. */
export const usageLine = (u: CommandUsage): string =>
  u.synopsis.length < 38
    ? `  ${u.synopsis.padEnd(38)} ${u.summary}\n`
    : `  ${u.synopsis}\n${' '.repeat(41)}${u.summary}\n`;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** The values of the flags `O`, as node's parser types them. */
type Flags<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];

/**
 * The flags of `args` (no positional arguments), by node's own parser.
 * @throws UsageError for an unknown option, an option without its value, or a positional argument;
 * on `--help`/`-h` it throws what {@link runCommand} turns into the usage on stdout.
 */
export const parseFlags = <const O extends Options>(args: string[], options: O): Flags<O> => {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...options, ...HELP },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true)
      throw new UsageError((err as Error).message);
    throw err;
  }
  if (values['help'] === true) throw new HelpRequested();
  return values as Flags<O>;
};

/**
 * An integer flag: decimal digits only (no sign, exponent or fraction), from `min` to `max`.
 * @throws UsageError naming the flag and the range.
 */
export const integerFlag = (
  value: string,
  flag: string,
  range: { min?: number; max?: number; unit?: string } = {},
): number => {
  const { min = 0, max = Number.MAX_SAFE_INTEGER, unit } = range;
  const n = Number(value);
  if (/^\d+$/.test(value) && Number.isSafeInteger(n) && n >= min && n <= max) return n;
  const bounds =
    max !== Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 0
        ? 'a whole number'
        : `an integer of at least ${min}`;
  throw new UsageError(`${flag}: must be ${bounds}${unit === undefined ? '' : ` (${unit})`}`);
};

/** A TCP port flag: 0 to 65535 (0: any free port). */
export const portFlag = (value: string, flag: string): number => integerFlag(value, flag, { max: 65535 });

/** An `on|off` flag. @throws UsageError for anything else. */
export const onOffFlag = (value: string, flag: string): boolean => {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new UsageError(`${flag}: must be on or off`);
};

/**
 * An address to listen on: an IP address, or a host name that a URL keeps as it is (so `999.1.1.1`,
 * not an IPv4 address, and `0x7f.1`, which a URL would turn into `127.0.0.1`, are refused), since
 * `authgate dev` builds its issuer URL from it.
 * @throws UsageError naming the flag.
 */
export const addressFlag = (value: string, flag: string): string => {
  if (isIP(value) !== 0) return value;
  let host: string | undefined;
  try {
    host = new URL(`http://${value}`).hostname;
  } catch {
    host = undefined;
  }
  // `[::1]` is a URL's way to write an IPv6 address, not an address to listen on: give `::1`.
  if (host !== undefined && host !== '' && !host.startsWith('[') && host === value.toLowerCase())
    return value;
  throw new UsageError(`${flag}: must be an IP address or a host name`);
};

/** Where a command writes: its usage and its help to stdout, its mistakes to stderr. */
export type CommandIo = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const PROCESS_IO: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/**
 * Runs one command and resolves its exit code: `--help` prints the usage (0), a usage mistake
 * is printed with the usage (2), a configuration mistake with its problems (78, EX_CONFIG), and
 * any other failure as `<name>: <message>` (1).
 */
export const runCommand = async (
  name: string,
  usage: CommandUsage | string,
  run: () => Promise<number>,
  io: CommandIo = PROCESS_IO,
): Promise<number> => {
  const text = typeof usage === 'string' ? usage : usageText(usage);
  try {
    return await run();
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(text);
      return 0;
    }
    io.stderr.write(`${name}: ${(err as Error).message}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`\n${text}`);
      return 2;
    }
    return err instanceof ConfigError ? 78 : 1;
  }
};

/**
 * Why a `fetch` failed: node's `fetch failed` hides the reason (`connect ECONNREFUSED …`,
 * `getaddrinfo ENOTFOUND …`) in its `cause`.
 */
/** Vault's multierror text: `2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n`. */
const MULTIERROR = /^\d+ errors? occurred:\n((?:\t\* [^\n]*\n)+)\n?$/;

/**
 * The `errors` of a Vault answer as one line for a terminal: a multierror's items, each on its
 * own, joined as the rest are with ", " (`permission denied, invalid token`), every control
 * character written out. Empty when there are none.
 */
export const errorsText = (errors: unknown): string =>
  printable(
    (Array.isArray(errors) ? errors.map(String) : [])
      .flatMap((e) => {
        const items = MULTIERROR.exec(e)?.[1];
        return items === undefined
          ? [e]
          : items
              .trimEnd()
              .split('\n')
              .map((l) => l.slice(3));
      })
      .join(', '),
  );

export const failureCause = (err: unknown): string => {
  const cause = (err as { cause?: unknown }).cause;
  const e = cause instanceof Error ? cause : err;
  if (e instanceof AggregateError && e.message === '') {
    return e.errors.map((inner: unknown) => failureCause(inner)).join('; ');
  }
  return (e as Error).message || String((e as { code?: unknown }).code ?? e);
};

/**
 * `fetch`, whose network failure (nothing answers at `url`) is told by `unreachable(cause)`:
 * what could not be reached and what to do.
 */
export const fetchOrExplain = async (
  url: string,
  init: RequestInit,
  unreachable: (cause: string) => string,
): Promise<Response> => {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new Error(unreachable(failureCause(err)), { cause: err });
  }
};

/** Why `path` cannot be written (its directory is missing, or it is a directory…), or undefined. */
export const unwritable = (path: string): string | undefined => {
  const target = resolve(path);
  const dir = dirname(target);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    const exists = existsSync(target);
    if (exists && statSync(target).isDirectory()) return `${target} is a directory`;
    accessSync(exists ? target : dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `directory ${dir} does not exist`
      : (err as Error).message;
  }
};

/**
 * authgate's address: `--address`, else `VAULT_ADDR` (empty = unset), else the local default. An
 * http(s) URL without a query or fragment, which the API path would land after (with the token).
 */
export const vaultAddressOf = (flag: string | undefined, fromEnv: string | undefined): string => {
  const address =
    flag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv) ?? 'http://127.0.0.1:8200';
  const named = flag !== undefined ? '--address' : 'VAULT_ADDR';
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new UsageError(`${named}: must be an http:// or https:// URL`);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.hostname === '' ||
    !/^https?:\/\/[^/]/.test(address)
  )
    throw new UsageError(`${named}: must be an http:// or https:// URL`);
  if (url.search !== '' || url.hash !== '' || address.includes('?') || address.includes('#'))
    throw new UsageError(`${named}: must have no query or fragment`);
  return address;
};
