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

/**
 * The path (`listener.port`) of the value that the character at `offset` of the text belongs
 * to, a tag or an anchor before it included; `''` when it is not inside one (a directive, a
 * comment before the document).
 */
export const pathAtOffset = (doc: Document, offset: number): string => {
  const segments: string[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      // The last entry whose key starts before the offset: the tag of a value sits between
      // the key and the value's own range.
      const pair = node.items.findLast((p) => ((p.key as Ranged | null)?.range?.[0] ?? Infinity) <= offset);
      if (pair === undefined) break;
      segments.push(String(isScalar(pair.key) ? pair.key.value : pair.key));
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((item) => ((item as Ranged | null)?.range?.[1] ?? -1) >= offset);
      if (i < 0) break;
      segments.push(String(i));
      node = node.items[i];
    } else {
      break;
    }
  }
  return segments.join('.');
};
