/**
 * `text` without the `/` characters at its end. A loop, not `replace(/\/+$/, '')`: V8 tries that
 * expression again at each `/` of a run that does not end the string, scanning the rest of the run
 * each time, so a request path with 16 000 slashes before its last segment held the event loop for
 * a quarter of a second.
 */
export const trimTrailingSlashes = (text: string): string => {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return end === text.length ? text : text.slice(0, end);
};
