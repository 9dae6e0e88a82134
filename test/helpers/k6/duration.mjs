// k6's durations (lib/types ParseExtendedDuration): a number is milliseconds; a string is a number
// of milliseconds, Go's time.ParseDuration syntax ("1m30s", "500ms", "1.5h"), or whole days first
// ("2d", "1d12h"). Returns milliseconds, or throws with k6's kind of message.

const GO_UNITS = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds. */
const goDuration = (text) => {
  const m = /^([-+]?)(.*)$/.exec(text);
  let rest = m[2];
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration "${text}"`);
  let total = 0;
  while (rest !== '') {
    const part = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part || part[1] === '' || part[1] === '.') {
      throw new Error(
        /^\d*(?:\.\d*)?$/.test(rest)
          ? `time: missing unit in duration "${text}"`
          : `time: invalid duration "${text}"`,
      );
    }
    total += Number(part[1]) * GO_UNITS[part[2]];
    rest = rest.slice(part[0].length);
  }
  return m[1] === '-' ? -total : total;
};

/** k6's ParseExtendedDuration, in milliseconds. */
export const parseK6Duration = (value) => {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`'${value}' is not a valid duration value`);
    return value;
  }
  if (typeof value !== 'string') throw new Error(`'${JSON.stringify(value)}' is not a valid duration value`);
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  const d = value.indexOf('d');
  if (d < 0) return goDuration(value);
  let hours = 0;
  if (d + 1 < value.length) {
    hours = goDuration(value.slice(d + 1));
    if (hours < 0) throw new Error(`invalid time format '${value.slice(d + 1)}'`);
  }
  if (!/^[-+]?\d+$/.test(value.slice(0, d))) {
    throw new Error(`strconv.ParseInt: parsing "${value.slice(0, d)}": invalid syntax`);
  }
  const days = Number(value.slice(0, d));
  return days * 86_400_000 + (days < 0 ? -hours : hours);
};
