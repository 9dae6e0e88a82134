import { withSpan } from '../lib/tracing.js';
import type { Store } from './store.js';

/** The store operations a request makes; each runs in a span `store.<op>` (no-ops with traces off). */
const SPANNED = ['get', 'set', 'delete', 'incrBy', 'batch', 'setMembers', 'indexMembers'] as const;

/** Wraps a store so that its request-path operations are traced, with `db.system` = `system`. */
export const traced = <S extends Store>(system: string, store: S): S => {
  const out: Record<string, unknown> = { ...store };
  for (const op of SPANNED) {
    const fn = store[op] as (...args: unknown[]) => Promise<unknown>;
    out[op] = (...args: unknown[]) => withSpan(`store.${op}`, { 'db.system': system }, () => fn(...args));
  }
  return out as S;
};
