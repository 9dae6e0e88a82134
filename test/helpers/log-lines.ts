import { Writable } from 'node:stream';

/**
 * A stream for `createLogger` that keeps every JSON line written to it, parsed (`lines`) and as
 * written (`raw`), so that a test can look for events and scan the text.
 */
export const jsonLogLines = () => {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, raw, stream };
};
