/**
 * @module
 * Sizes as the Group Manager CLI reads and prints them. Input: a number with an optional
 * unit (`10G`, `10GB`, `512MB`, `1.5T`, a bare number meaning MB, as the CLI takes it);
 * output: the CLI's short form (`0MB`, `15MB`, `1.01GB`, `2TB`). The array allocates in
 * whole MB, so sizes are rounded up to a MB.
 */
const MB = 1024 * 1024;
const UNIT: Record<string, number> = { '': MB, M: MB, MB, G: 1024 * MB, GB: 1024 * MB, T: 1024 * 1024 * MB, TB: 1024 * 1024 * MB };

/** Bytes for a CLI size argument, rounded up to whole MB; undefined when it is not one. */
export function parseCliSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([MmGgTt][Bb]?)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = UNIT[(m[2] ?? '').toUpperCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  if (!Number.isFinite(bytes)) return undefined;
  return Math.ceil(bytes / MB) * MB;
}

/** The CLI's way of printing a size: MB below a GB, then GB, then TB, two decimals at most. */
export function formatCliSize(bytes: number): string {
  const mb = bytes / MB;
  const fmt = (n: number) => String(Math.round(n * 100) / 100);
  if (mb < 1024) return `${Math.round(mb)}MB`;
  if (mb < 1024 * 1024) return `${fmt(mb / 1024)}GB`;
  return `${fmt(mb / 1024 / 1024)}TB`;
}

export const MEGABYTE = MB;
