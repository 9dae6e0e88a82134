// Module resolution hooks of the k6 shim (registered by register.mjs, tests only): `k6` and `k6/*`
// resolve to the shim's modules, as k6 resolves them to its built-ins; and every VU gets its own
// instances of the script's modules, as each k6 VU has its own JavaScript runtime: the runner imports
// the script as `script.js?k6vu=N`, and that query is carried to the script's relative imports.
const MODULES = {
  k6: 'k6.mjs',
  'k6/http': 'http.mjs',
  'k6/data': 'data.mjs',
  'k6/execution': 'execution.mjs',
  'k6/encoding': 'encoding.mjs',
  'k6/metrics': 'metrics.mjs',
};

const vuOf = (url) => {
  if (!url?.startsWith('file:')) return null;
  return new URL(url).searchParams.get('k6vu');
};

export async function resolve(specifier, context, next) {
  if (specifier === 'k6' || specifier.startsWith('k6/')) {
    const file = MODULES[specifier];
    if (!file) {
      throw new Error(`k6 shim: module "${specifier}" is not implemented (it has what loadtest/k6 uses)`);
    }
    return { url: new URL(`./modules/${file}`, import.meta.url).href, shortCircuit: true };
  }
  const vu = vuOf(context.parentURL);
  if (vu === null) return next(specifier, context);
  // A k6 script imports only k6 modules, files (relative or absolute paths, file: URLs) and
  // https: URLs: no Node built-in, no package name.
  if (!/^(\.{1,2}\/|\/|file:|https:)/.test(specifier)) {
    throw new Error(`k6 cannot import ${JSON.stringify(specifier)} (from ${context.parentURL})`);
  }
  const resolved = await next(specifier, context);
  if (!/\.(m?js|cjs)$/.test(new URL(resolved.url).pathname)) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set('k6vu', vu);
  return { ...resolved, url: url.href };
}
