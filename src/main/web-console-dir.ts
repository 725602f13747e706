/**
 * @module
 * Where the built web console lives: `dist/web` under the package root (Vite writes it
 * there during `npm ci`/`npm run build`), found from this module whether it runs compiled
 * from `dist/src/main` or from source. `ISLET_WEB_DIR` overrides it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function webConsoleDir(): string {
  if (process.env.ISLET_WEB_DIR) return resolve(process.env.ISLET_WEB_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'islet') return join(dir, 'dist', 'web');
    const up = dirname(dir);
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
    dir = up;
  }
}
