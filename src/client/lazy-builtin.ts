/**
 * @module
 * Built-in modules loaded on first use. `xe` runs once per command, and loading
 * `node:https` (which brings TLS and most of `crypto`) or `node:os` is a noticeable part of
 * a short run; xe talking plain HTTP (to 127.0.0.1, or `--nossl`) never needs the first,
 * and only a missing `HOME` needs the second. `node:fs/promises` is wanted only by the
 * commands that write a downloaded file, `node:v8` only by those that move a disk's bytes
 * (cli/commands/without-optimizer.ts). A static import would load them at start,
 * and a dynamic `import()` cannot run inside the code-cached bundle bin/xe compiles.
 */
import type httpsModule from 'node:https';
import type fsPromisesModule from 'node:fs/promises';
import type osModule from 'node:os';
import type tlsModule from 'node:tls';
import type v8Module from 'node:v8';

// process.getBuiltinModule (Node 20.16, hence `engines`) rather than createRequire: loading
// node:module for it would cost about what the lazy loading saves.
const load = <T>(id: string): T => process.getBuiltinModule(id) as T;

let httpsLoaded: typeof httpsModule | undefined;
let osLoaded: typeof osModule | undefined;
let tlsLoaded: typeof tlsModule | undefined;
let fsPromisesLoaded: typeof fsPromisesModule | undefined;
let v8Loaded: typeof v8Module | undefined;

export function https(): typeof httpsModule {
  httpsLoaded ??= load<typeof httpsModule>('node:https');
  return httpsLoaded;
}

export function os(): typeof osModule {
  osLoaded ??= load<typeof osModule>('node:os');
  return osLoaded;
}

export function tls(): typeof tlsModule {
  tlsLoaded ??= load<typeof tlsModule>('node:tls');
  return tlsLoaded;
}

export function fsPromises(): typeof fsPromisesModule {
  fsPromisesLoaded ??= load<typeof fsPromisesModule>('node:fs/promises');
  return fsPromisesLoaded;
}

export function v8(): typeof v8Module {
  v8Loaded ??= load<typeof v8Module>('node:v8');
  return v8Loaded;
}
