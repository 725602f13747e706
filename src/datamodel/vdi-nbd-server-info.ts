/**
 * @module
 * How a client reaches one VDI over NBD: returned by VDI.get_nbd_info, never stored.
 */
import { cls, runtime, t } from './dsl.js';

export const vdiNbdServerInfo = cls('vdi_nbd_server_info', {
  doc: 'Connection details for reading a VDI over NBD',
  persist: false,
  writeRole: 'pool-operator',
  accessors: false,
  uuid: false,
  fields: [
    runtime('exportname', t.string, 'Export name to ask the NBD server for'),
    runtime('address', t.string, 'Address of the NBD server'),
    runtime('port', t.int, 'TCP port of the NBD server'),
    runtime('cert', t.string, 'TLS certificate the server presents, in PEM form'),
    runtime('subject', t.string, 'Name the certificate is issued to'),
  ],
});
