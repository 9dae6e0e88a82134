/**
 * A time as Vault's JSON prints it: Go's `time.Time` MarshalJSON (RFC3339Nano, here in UTC), the
 * fraction's trailing zeros dropped: `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.12Z`. Vault's
 * times carry nanoseconds; authgate's carry milliseconds, so at most three digits are printed.
 */
export const goTime = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
