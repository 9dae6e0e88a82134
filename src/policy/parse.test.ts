import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PolicyLoadError } from './errors.js';
import { parsePolicyDocument, parsePolicyHcl, parsePolicyText, renderHcl } from './parse.js';
import type { Policy } from './policy.js';

const problemsOf = (parse: () => Policy): readonly string[] => {
  try {
    parse();
  } catch (error) {
    if (error instanceof PolicyLoadError) return error.problems;
    throw error;
  }
  throw new Error('expected a PolicyLoadError');
};

const TEAM_HCL = `# Each workload reads its own namespace's secrets.
path "secret/data/{{identity.namespace}}/*" {
  capabilities = ["read"]
}

// and lists them
path "secret/metadata/{{identity.namespace}}/*" {
  capabilities = ["list"]
}

/* the shared area */
path "secret/data/shared/+/config" {
  capabilities = ["read", "list"]
}

path "secret/data/shared/admin*" {
  capabilities = ["deny"]
}
`;

const TEAM_DOCUMENT = {
  path: {
    'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
    'secret/metadata/{{identity.namespace}}/*': { capabilities: ['list'] },
    'secret/data/shared/+/config': { capabilities: ['read', 'list'] },
    'secret/data/shared/admin*': { capabilities: ['deny'] },
  },
};

describe('the three syntaxes', () => {
  it('compile HCL, YAML, JSON and an inline document of the same policy to identical rules', () => {
    const hcl = parsePolicyHcl('team', TEAM_HCL, 'team.hcl');
    const yaml = parsePolicyText('team', stringify(TEAM_DOCUMENT), 'yaml', 'team.yaml');
    const json = parsePolicyText('team', JSON.stringify(TEAM_DOCUMENT, null, '\t'), 'json', 'team.json');
    const inline = parsePolicyDocument('team', TEAM_DOCUMENT, 'policies.team');
    expect(hcl.rules).toHaveLength(4);
    for (const other of [yaml, json, inline]) expect(other.rules).toEqual(hcl.rules);
    expect(hcl.templated).toBe(true);
  });

  it('keeps a file policy text as written, and renders an inline one as HCL that parses back the same', () => {
    expect(parsePolicyHcl('team', TEAM_HCL).text).toBe(TEAM_HCL);
    const inline = parsePolicyDocument('team', TEAM_DOCUMENT);
    expect(inline.text).toContain('path "secret/data/shared/admin*" {\n  capabilities = ["deny"]\n}');
    expect(parsePolicyHcl('team', inline.text).rules).toEqual(inline.rules);
    expect(renderHcl(inline)).toBe(inline.text);
  });

  it('merges a path written twice in one HCL policy as Vault does: union, deny winning', () => {
    const policy = parsePolicyHcl(
      'twice',
      `path "a/*" { capabilities = ["read"] }
       path "a/*" { capabilities = ["list", "read"] }
       path "b" { capabilities = ["read", "sudo"] }
       path "/b" { capabilities = ["deny"] }`,
    );
    expect(policy.rules).toEqual([
      { path: 'a/*', capabilities: ['read', 'list'] },
      { path: 'b', capabilities: ['deny'] },
    ]);
  });

  it('orders capabilities as Vault lists them, without duplicates', () => {
    const policy = parsePolicyHcl(
      'x',
      'path "a" { capabilities = ["sudo", "list", "read", "read", "create"] }',
    );
    expect(policy.rules[0]?.capabilities).toEqual(['create', 'read', 'list', 'sudo']);
  });

  it.each([
    ['deny', ['deny']],
    ['read', ['read', 'list']],
    ['write', ['create', 'read', 'update', 'delete', 'list']],
    ['sudo', ['create', 'read', 'update', 'delete', 'list', 'sudo']],
  ])('maps the legacy policy = "%s" as Vault does', (word, caps) => {
    expect(parsePolicyHcl('x', `path "a" { policy = "${word}" }`).rules[0]?.capabilities).toEqual(caps);
  });

  it('accepts and ignores a top-level name and a comment, as Vault does', () => {
    const policy = parsePolicyHcl(
      'x',
      'name = "other"\npath "a" {\n  comment = "why"\n  capabilities = ["read"]\n}',
    );
    expect(policy).toMatchObject({ name: 'x', rules: [{ path: 'a', capabilities: ['read'] }] });
  });

  it('normalizes the name as Vault does: trimmed, lowercase', () => {
    expect(parsePolicyHcl(' Team-A ', '').name).toBe('team-a');
  });

  it('accepts an empty policy, which grants nothing', () => {
    expect(parsePolicyHcl('empty', '# nothing yet\n').rules).toEqual([]);
  });
});

describe('refused policies', () => {
  const refused = (body: string) => `path "secret/*" {\n  ${body}\n}\n`;

  it.each([
    [
      'an unknown capability',
      refused('capabilities = ["raed"]'),
      'unknown capability "raed" (known: create, read',
    ],
    ['an empty capability list', refused('capabilities = []'), 'capabilities must be a non-empty list'],
    ['capabilities as a string', refused('capabilities = "read"'), 'capabilities must be a non-empty list'],
    ['a path without capabilities', refused('comment = "nothing"'), 'capabilities is missing'],
    ['an unknown key', refused('capabilites = ["read"]'), 'unknown key "capabilites"'],
    [
      'a key set twice',
      refused('capabilities = ["read"]\n  capabilities = ["list"]'),
      '"capabilities" is set twice',
    ],
    ['an invalid legacy policy', refused('policy = "all"'), 'invalid policy "all"'],
    [
      'a legacy policy named as an inherited property',
      refused('policy = "constructor"'),
      'invalid policy "constructor"',
    ],
    ['the root capability', refused('capabilities = ["root"]'), 'unknown capability "root"'],
    [
      'allowed_parameters',
      refused('capabilities = ["create"]\n  allowed_parameters = { "foo" = [] }'),
      '"allowed_parameters" is not supported by authgate',
    ],
    [
      'denied_parameters',
      refused('capabilities = ["create"]\n  denied_parameters = { "bar" = ["zap"] }'),
      '"denied_parameters" is not supported',
    ],
    [
      'required_parameters',
      refused('capabilities = ["create"]\n  required_parameters = ["bar"]'),
      '"required_parameters" is not supported',
    ],
    [
      'min_wrapping_ttl',
      refused('capabilities = ["read"]\n  min_wrapping_ttl = "1s"'),
      '"min_wrapping_ttl" is not supported',
    ],
    [
      'max_wrapping_ttl',
      refused('capabilities = ["read"]\n  max_wrapping_ttl = 90'),
      '"max_wrapping_ttl" is not supported',
    ],
    [
      'mfa_methods',
      refused('capabilities = ["read"]\n  mfa_methods = ["totp"]'),
      '"mfa_methods" is not supported',
    ],
    [
      'a control group block',
      refused('capabilities = ["read"]\n  control_group { ttl = "4h" }'),
      '"control_group" is not supported',
    ],
  ])('refuses %s, naming the policy, the file and the line', (_what, hcl, message) => {
    const problems = problemsOf(() => parsePolicyHcl('team-a', hcl, '/etc/authgate/policies/team-a.hcl'));
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^\/etc\/authgate\/policies\/team-a\.hcl:[1-3]: policy "team-a": path "secret\/\*": /,
      ),
    );
    expect(problems.join('\n')).toContain(message);
  });

  it.each([
    ['a * before the end', 'secret/*/db', "'*' is only allowed as the last character"],
    ['+* together', 'secret/+*', "'+*' is forbidden"],
    ['a + inside a segment', 'secret/a+b/c', "'+' must be a whole path segment"],
    ['an empty path', '', 'the path is empty'],
    ['a control character', 'secret/\\u0001', 'control character'],
  ])('refuses a path with %s', (_what, path, message) => {
    const problems = problemsOf(() => parsePolicyHcl('x', `path "${path}" { capabilities = ["read"] }`));
    expect(problems).toEqual([expect.stringContaining(message)]);
  });

  it('reports every problem of a policy, not only the first', () => {
    const problems = problemsOf(() =>
      parsePolicyHcl(
        'x',
        'path "a" { capabilities = ["raed"] }\npath "b/*/c" { capabilities = ["read"] }\nfoo = 1\n',
        'x.hcl',
      ),
    );
    expect(problems.map((p) => p.split(': ')[0])).toEqual(['x.hcl:1', 'x.hcl:2', 'x.hcl:3']);
  });

  it('reports an HCL syntax error with its file, line and column', () => {
    const problems = problemsOf(() =>
      parsePolicyHcl('x', 'path "a" {\n  capabilities = [read]\n}', '/p/x.hcl'),
    );
    expect(problems).toEqual([
      '/p/x.hcl:2: policy "x": HCL syntax error at column 19: unexpected word "read": strings must be quoted ("read")',
    ]);
  });

  it.each([
    [
      'a path block with two labels',
      'path "a" "b" { capabilities = ["read"] }',
      'a path block takes one label',
    ],
    ['path as an attribute', 'path = { "a" = { capabilities = ["read"] } }', 'write each path as a block'],
    ['an unknown top-level key', 'paths "a" { capabilities = ["read"] }', 'unknown top-level key "paths"'],
  ])('refuses %s', (_what, hcl, message) => {
    expect(problemsOf(() => parsePolicyHcl('x', hcl))).toEqual([expect.stringContaining(message)]);
  });

  it.each([
    ['root', '"root" is reserved'],
    ['team a', 'a policy name has letters, digits'],
    ['-leading', 'a policy name has letters, digits'],
    ['x'.repeat(129), 'longer than 128'],
  ])('refuses the policy name %j', (name, message) => {
    expect(problemsOf(() => parsePolicyHcl(name, ''))).toEqual([expect.stringContaining(message)]);
  });
});

describe('refused documents', () => {
  it.each([
    ['not an object', ['path'], 'expected an object'],
    ['path not an object', { path: ['secret/*'] }, '"path" must be an object of globs'],
    ['a glob without an object', { path: { 'secret/*': ['read'] } }, 'path "secret/*": expected an object'],
    ['an unknown top-level key', { paths: {} }, 'unknown top-level key "paths"'],
    [
      'an unsupported key',
      { path: { 'secret/*': { capabilities: ['read'], allowed_parameters: { a: [] } } } },
      'not supported by authgate',
    ],
  ])('refuses %s', (_what, document, message) => {
    expect(problemsOf(() => parsePolicyDocument('x', document, 'policies.x'))).toEqual([
      expect.stringMatching(
        new RegExp(`^policies\\.x: policy "x": .*${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      ),
    ]);
  });

  it('gives the line of the offending path in a YAML file', () => {
    const yaml =
      'path:\n  "secret/data/*":\n    capabilities: [read]\n  "secret/admin/*":\n    capabilities: [raed]\n';
    expect(problemsOf(() => parsePolicyText('x', yaml, 'yaml', 'x.yaml'))).toEqual([
      expect.stringMatching(/^x\.yaml:4: policy "x": path "secret\/admin\/\*": unknown capability "raed"/),
    ]);
  });

  it('refuses a JSON file that names a path twice, which JSON.parse would silently collapse', () => {
    const json =
      '{\n  "path": {\n    "a/*": {"capabilities": ["deny"]},\n    "a/*": {"capabilities": ["read"]}\n  }\n}\n';
    expect(problemsOf(() => parsePolicyText('x', json, 'json', 'x.json'))).toEqual([
      expect.stringMatching(/^x\.json:4: policy "x": a key is written twice/),
    ]);
  });

  it('refuses JSON that is not strict JSON, with its line', () => {
    const json = '{\n  "path": {\n    "a": {"capabilities": ["read"]},\n  }\n}\n';
    expect(problemsOf(() => parsePolicyText('x', json, 'json', 'x.json'))).toEqual([
      expect.stringMatching(/^x\.json:4: policy "x": JSON syntax error: /),
    ]);
  });

  it.each([
    ['json', `{"path":\n${'['.repeat(1000)}${']'.repeat(1000)}}`, 2],
    ['yaml', `path:\n  a:\n${'- '.repeat(5000)}x\n`, 3],
    ['hcl', `path "a" {\n  x = ${'['.repeat(5000)}${']'.repeat(5000)}\n}`, 2],
    ['hcl', `${'a {\n'.repeat(100)}${'}\n'.repeat(100)}`, 65],
  ] as const)(
    'refuses a %s file nested too deeply, with its line, every time it is read',
    (format, text, line) => {
      // A reload parses the same text again: the yaml library's second parse of the first two
      // aborted the process, and the HCL reader overflowed its stack on the third.
      for (let i = 0; i < 3; i++)
        expect(problemsOf(() => parsePolicyText('x', text, format, `x.${format}`))).toEqual([
          expect.stringMatching(
            new RegExp(`^x\\.${format}:${line}: policy "x": .*nested more than 64 levels deep`),
          ),
        ]);
    },
  );

  it('refuses a YAML syntax error with its line', () => {
    expect(problemsOf(() => parsePolicyText('x', 'path:\n  a: [read\n', 'yaml', 'x.yaml'))).toEqual([
      expect.stringMatching(/^x\.yaml:\d: policy "x": YAML syntax error: /),
    ]);
  });
});

describe('JSON in HCL', () => {
  it("reads HCL text that is a JSON object as JSON, as Vault's hcl.Parse does", () => {
    const policy = parsePolicyHcl(
      'j',
      ' {"path": {"secret/data/app/*": {"capabilities": ["read", "list"]}}}\n',
    );
    expect(policy.rules).toEqual([
      expect.objectContaining({ path: 'secret/data/app/*', capabilities: ['read', 'list'] }),
    ]);
  });

  it('refuses a JSON object with a key written twice, as a .json file', () => {
    expect(() =>
      parsePolicyHcl('j', '{"path": {"a": {"capabilities": ["read"]}, "a": {"capabilities": ["deny"]}}}'),
    ).toThrow(PolicyLoadError);
  });
});
