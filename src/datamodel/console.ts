/**
 * @module
 * A console: where a VM's screen or text console can be reached.
 */
import { cls, runtime, rw, t } from './dsl.js';
import { consoleProtocol } from './enums.js';

export const console = cls('console', {
  doc: 'A way to reach a VM\'s console',
  create: true,
  destroy: true,
  writeRole: 'vm-admin',
  fields: [
    runtime('protocol', t.enum(consoleProtocol), 'Kind of console: vt100, rfb (VNC) or rdp'),
    runtime('location', t.string, 'URL the console is served at'),
    runtime('VM', t.ref('VM'), 'The VM the console belongs to'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools', { required: true }),
  ],
});
