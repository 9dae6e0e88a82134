import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_POLICY_TEXT } from './default-policy.js';
import { parsePolicyDocument, parsePolicyHcl } from './parse.js';

const DOC = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
const blocks = (lang: string): string[] =>
  [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);

describe('docs/policies.md', () => {
  it('has HCL examples that all load', () => {
    const hcl = blocks('hcl');
    expect(hcl.length).toBeGreaterThan(4);
    for (const text of hcl) expect(() => parsePolicyHcl('example', text)).not.toThrow();
  });

  it('has YAML examples whose policies all load', () => {
    const policies = blocks('yaml').flatMap((text) =>
      Object.entries((parse(text) as { policies?: Record<string, unknown> }).policies ?? {}),
    );
    expect(policies.map(([name]) => name)).toEqual(['team-a', 'namespace-secrets']);
    for (const [name, doc] of policies) expect(() => parsePolicyDocument(name, doc)).not.toThrow();
  });

  it('shows the built-in default policy as it is, and nothing else', () => {
    const section = DOC.slice(DOC.indexOf('\n## The `default` policy\n'));
    const shown = /```hcl\n([\s\S]*?)```/.exec(section)?.[1];
    expect(shown).toBe(DEFAULT_POLICY_TEXT);
  });

  it('writes the templated example the same way in YAML and in HCL', () => {
    const yaml = (parse(blocks('yaml')[1] as string) as { policies: Record<string, unknown> }).policies;
    const hcl = blocks('hcl').find((t) => t.includes('Each workload reads and lists')) as string;
    expect(parsePolicyDocument('n', yaml['namespace-secrets']).rules).toEqual(parsePolicyHcl('n', hcl).rules);
  });
});
