/**
 * @module
 * A hotfix known to the pool (the legacy patch API, now a view of a pool_update). Uploaded
 * once to the master, it is applied host by host and records which hosts have it.
 */
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';
import { afterApplyGuidance } from './enums.js';

export const poolPatch = cls('pool_patch', {
  doc: 'A hotfix uploaded to the pool, with the hosts it has been applied to',
  writeRole: 'pool-operator',
  fields: [
    ctor('name_label', t.string, 'Short name of the hotfix'),
    ctor('name_description', t.string, 'What the hotfix fixes'),
    ctor('version', t.string, 'Version of the hotfix'),
    runtime('size', t.int, 'Size of the hotfix file, in bytes'),
    runtime('pool_applied', t.bool, 'True once every host of the pool has the hotfix'),
    inverse('host_patches', 'host_patch', 'pool_patch', 'Per-host records of where the hotfix is applied'),
    runtime('after_apply_guidance', t.set(t.enum(afterApplyGuidance)), 'What must happen after applying for the fix to take effect'),
    ctor('pool_update', t.ref('pool_update'), 'The update this hotfix is a view of'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
  messages: [
    message('apply', {
      doc: 'Applies the hotfix to one host',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
        param('host', t.ref('host'), 'The host to apply it to'),
      ],
      result: t.string,
      resultDoc: 'Output of the apply step',
      role: 'pool-operator',
      async: true,
    }),
    message('pool_apply', {
      doc: 'Applies the hotfix to every host of the pool that lacks it',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('precheck', {
      doc: 'Checks that the hotfix could be applied to a host, without applying it',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
        param('host', t.ref('host'), 'The host to check'),
      ],
      result: t.string,
      resultDoc: 'Output of the checks',
      role: 'pool-operator',
      async: true,
    }),
    message('clean', {
      doc: 'Deletes the uploaded hotfix file from the host called, keeping the record',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('pool_clean', {
      doc: 'Deletes the uploaded hotfix file from every host, keeping the record',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Forgets a hotfix that no host has applied and deletes its file',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    // Pool-internal: the master has a host do its part of precheck/apply/clean on its own disk.
    // `job` is JSON (src/updates/host-ops.ts HostJob); results are JSON too.
    message('islet_host_precheck', {
      doc: 'Runs the host-side checks of a precheck on the host called (pool-internal)',
      params: [param('job', t.string, 'What to check, as JSON')],
      result: t.string,
      resultDoc: 'Output of the package\'s precheck hook',
      role: 'pool-admin',
      internal: true,
    }),
    message('islet_host_apply', {
      doc: 'Installs an update on the host called (pool-internal)',
      params: [param('job', t.string, 'What to install, as JSON')],
      result: t.string,
      resultDoc: 'The applied marker and hook output, as JSON',
      role: 'pool-admin',
      internal: true,
    }),
    message('islet_host_clean', {
      doc: 'Deletes an update file from the host called (pool-internal)',
      params: [param('job', t.string, 'Which update, as JSON')],
      role: 'pool-admin',
      internal: true,
    }),
    message('islet_host_applied', {
      doc: 'Lists the applied-update markers of the host called (pool-internal)',
      params: [param('job', t.string, 'Unused; JSON')],
      result: t.string,
      resultDoc: 'The markers, as JSON',
      role: 'pool-admin',
      internal: true,
    }),
    message('clean_on_host', {
      doc: 'Deletes the uploaded hotfix file from one host',
      params: [
        param('self', t.ref('pool_patch'), 'The hotfix'),
        param('host', t.ref('host'), 'The host to clean'),
      ],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
