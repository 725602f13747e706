/**
 * @module
 * A TLS certificate installed on a host, as listed in host.certificates.
 */
import { cls, ctor, runtime, t } from './dsl.js';
import { certificateType } from './enums.js';

export const Certificate = cls('Certificate', {
  doc: 'A TLS certificate installed on a host',
  writeRole: 'pool-operator',
  fields: [
    runtime('name', t.string, 'Name of the certificate, for CA certificates'),
    runtime('type', t.enum(certificateType), 'Whether it is the host\'s server certificate, an internal one or a CA', { default: 'host' }),
    ctor('host', t.ref('host'), 'The host it is installed on'),
    ctor('not_before', t.datetime, 'Start of its validity'),
    ctor('not_after', t.datetime, 'End of its validity'),
    ctor('fingerprint', t.string, 'SHA-256 fingerprint of the certificate'),
  ],
});
