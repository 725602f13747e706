/**
 * @module
 * An Islet extension class: one rolling pool update run (`pool.islet_rolling_update`). The
 * run lives in the pool database so that it survives the master's own restart, which is
 * part of every run, and so that any client can follow it through `event.from`: which host
 * is at which step, what failed, where the database backup went.
 */
import { cls, runtime, t } from './dsl.js';

export const isletRollingUpdate = cls('islet_rolling_update', {
  doc: 'A rolling pool update: hosts updated and restarted one at a time, master first, their VMs kept running elsewhere meanwhile',
  writeRole: 'pool-operator',
  fields: [
    runtime('update', t.ref('pool_update'), 'The update being rolled out'),
    runtime('status', t.string, 'running, paused (after a failure; resume or abort), done or aborted'),
    runtime('options', t.smap, 'What the run was started with (force, restart)'),
    runtime('hosts', t.set(t.ref('host')), 'The hosts in the order they are visited, master first'),
    runtime('host_states', t.map(t.ref('host'), t.string), 'Where each host is: pending, evacuating, applying, restarting, returning, done or skipped'),
    runtime('current_host', t.ref('host'), 'The host being worked on, if any'),
    runtime('step_log', t.set(t.string), 'Every step each host has entered, in order, as "<n> <host ref> <step>", so that a client that looked away (a reconnect, a batch of events) still shows every step'),
    runtime('error_info', t.set(t.string), 'Why the run paused: an error code and its parameters'),
    runtime('backup_file', t.string, 'Where the pool database was saved before the run started'),
    runtime('task', t.ref('task'), 'The task following the run in this toolstack process'),
    runtime('created', t.datetime, 'When the run started'),
    runtime('finished', t.datetime, 'When the run ended'),
    runtime('state', t.string, 'The runner\'s own state, as JSON', { internal: true }),
  ],
});
