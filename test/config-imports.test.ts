import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_PREFIX } from '../src/config/index.js';
import { DEFAULT_KEY_PREFIX as STORE_DEFAULT_KEY_PREFIX } from '../src/store/index.js';

const CONFIG_DIR = join(import.meta.dirname, '..', 'src', 'config');

/** Relative imports of a source file that leave its directory (`../x/y.js`). */
const importsOutside = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.\.\/[^']+)'/gm)].map(
    (m) => m[1] ?? '',
  );

describe('the config part', () => {
  const sources = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

  it.each(sources)('%s imports nothing but lib from other parts', (file) => {
    const outside = importsOutside(join(CONFIG_DIR, file));
    expect(outside.filter((p) => !p.startsWith('../lib/'))).toEqual([]);
  });

  it('has the same default key prefix as the store', () => {
    expect(DEFAULT_KEY_PREFIX).toBe('ag:');
    expect(DEFAULT_KEY_PREFIX).toBe(STORE_DEFAULT_KEY_PREFIX);
  });
});
