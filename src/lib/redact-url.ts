/**
 * `value` fit to print: the userinfo of a URL (user and password, as in `redis://:secret@host:6379`)
 * becomes `***` (`redis://***@host:6379`). Everything from `//` to the last `@` before any `?` or
 * `#` counts as userinfo, so that a password holding a raw `@` or `/` is hidden whole.
 */
export const redactUrl = (value: string): string =>
  value.replace(/^([a-z][a-z\d+.-]*:\/\/)[^?#]*@/i, '$1***@');
