/** authgate's version, as `authgate version`, `sys/seal-status` and the telemetry's resource name it. */
export const VERSION = '0.1.0';
