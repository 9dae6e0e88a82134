import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

type Ranged = { range?: [number, number, number] | null };

/**
 * The 1-based line of a problem's `path` (`auth.kubernetes.roles.nginx.token_ttl`) in the YAML
 * document, or `undefined` when the path is not in it (a default, an environment override).
 * Keys may themselves hold `.` (`auth.k8s.prod` may be the mount `k8s.prod`), so at each mapping
 * the longest run of segments that is a key is taken. A mapping entry's line is its key's line.
 */
export const lineOfPath = (doc: Document, lineCounter: LineCounter, path: string): number | undefined => {
  const segments = path === '' ? [] : path.split('.');
  let node: unknown = doc.contents;
  let at: Ranged | undefined = doc.contents ?? undefined;
  let i = 0;
  while (i < segments.length) {
    if (isMap(node)) {
      const map = node;
      let matched = false;
      for (let j = segments.length; j > i && !matched; j--) {
        const key = segments.slice(i, j).join('.');
        const pair = map.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
        if (pair !== undefined) {
          node = pair.value;
          at = (pair.key as Ranged | null) ?? undefined;
          i = j;
          matched = true;
        }
      }
      if (!matched) return undefined;
    } else if (isSeq(node)) {
      node = node.items[Number(segments[i])];
      at = (node as Ranged | undefined) ?? undefined;
      i += 1;
      if (node === undefined) return undefined;
    } else {
      return undefined;
    }
  }
  return at?.range ? lineCounter.linePos(at.range[0]).line : undefined;
};
