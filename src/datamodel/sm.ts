/**
 * @module
 * An SM: a storage driver installed on the hosts, with the features it offers.
 */
import { cls, runtime, rw, t } from './dsl.js';

export const sm = cls('SM', {
  doc: 'A storage driver and what it can do',
  writeRole: 'pool-operator',
  fields: [
    runtime('name_label', t.string, 'Short name of the driver'),
    runtime('name_description', t.string, 'What the driver is for'),
    runtime('type', t.string, 'SR type the driver serves, such as ext or nfs'),
    runtime('vendor', t.string, 'Who wrote the driver'),
    runtime('copyright', t.string, 'Copyright notice of the driver'),
    runtime('version', t.string, 'Version of the driver'),
    runtime('required_api_version', t.string, 'Storage API version the driver needs'),
    runtime('configuration', t.smap, 'Device configuration keys the driver takes, with their meaning'),
    runtime('capabilities', t.set(t.string), 'What the driver can do (obsolete; see features)'),
    runtime('features', t.map(t.string, t.int), 'What the driver can do, with a version per feature'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('driver_filename', t.string, 'Path of the driver program'),
    runtime('required_cluster_stack', t.set(t.string), 'Cluster stacks the driver needs'),
  ],
});
