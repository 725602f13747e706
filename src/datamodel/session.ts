/**
 * @module
 * A login: the handle a client passes with every call, who it belongs to and what it may
 * do. Sessions live in memory and end with the process, as in xapi.
 */
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';

export const session = cls('session', {
  doc: 'An authenticated connection of a user or a pool member to a host',
  persist: false,
  writeRole: 'pool-admin',
  lists: false,
  fields: [
    runtime('this_host', t.ref('host'), 'The host that issued the session'),
    runtime('this_user', t.ref('user'), 'The local user the session belongs to (unused in practice)'),
    runtime('last_active', t.datetime, 'When the session was last used; idle sessions are reaped'),
    runtime('pool', t.bool, 'True for sessions opened by another host of the pool rather than by a client'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('is_local_superuser', t.bool, 'True when the login used the local root account'),
    runtime('subject', t.ref('subject'), 'The external-auth subject the login matched, or null for root'),
    runtime('validation_time', t.datetime, 'When the subject\'s rights were last checked against the directory'),
    runtime('auth_user_sid', t.string, 'Directory identifier of the user who logged in'),
    runtime('auth_user_name', t.string, 'Name the user logged in with'),
    ctor('rbac_permissions', t.set(t.string), 'The permission names this session holds'),
    inverse('tasks', 'task', 'islet_session', 'Tasks started through this session'),
    ctor('parent', t.ref('session'), 'The session that created this one, for sessions made on a caller\'s behalf'),
    runtime('originator', t.string, 'Free text naming the client program that logged in'),
    runtime('client_certificate', t.bool, 'True when the peer authenticated with a TLS client certificate'),
  ],
  messages: [
    message('login_with_password', {
      doc: 'Checks a user name and password and opens a session for them',
      params: [
        param('uname', t.string, 'User name'),
        param('pwd', t.string, 'Password'),
        param('version', t.string, 'Highest API version the client understands', '1.1'),
        param('originator', t.string, 'Name of the client program, kept for diagnostics', ''),
      ],
      result: t.ref('session'),
      resultDoc: 'The handle to pass with every later call',
      errors: ['SESSION_AUTHENTICATION_FAILED', 'HOST_IS_SLAVE'],
      role: 'read-only',
      sessionless: true,
    }),
    message('slave_local_login_with_password', {
      doc: 'Opens a session valid only on the host called, which works even when that host cannot reach its master',
      params: [
        param('uname', t.string, 'User name'),
        param('pwd', t.string, 'Password'),
      ],
      result: t.ref('session'),
      resultDoc: 'A session handle usable on this host alone',
      role: 'pool-admin',
      sessionless: true,
    }),
    message('logout', {
      doc: 'Ends the calling session',
      role: 'read-only',
    }),
    message('local_logout', {
      doc: 'Ends a session opened with slave_local_login_with_password',
      role: 'pool-admin',
    }),
    message('change_password', {
      doc: 'Changes the password of the logged-in local account after checking the old one',
      params: [
        param('old_pwd', t.string, 'The current password'),
        param('new_pwd', t.string, 'The password to use from now on'),
      ],
      roles: [],
    }),
    message('get_all_subject_identifiers', {
      doc: 'Lists the directory identifiers of every subject that has an open session',
      result: t.set(t.string),
      resultDoc: 'One identifier per subject with a session',
      role: 'read-only',
      async: true,
    }),
    message('logout_subject_identifier', {
      doc: 'Ends every session that belongs to the given subject',
      params: [
        param('subject_identifier', t.string, 'Directory identifier whose sessions are closed'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('islet_pool_login', {
      doc: 'Islet internal: opens a pool-internal session for another host of the pool, which proves itself with the credential the master issued to it when it joined',
      params: [
        param('host_uuid', t.string, 'The calling host'),
        param('credential', t.string, 'That host\'s own pool credential'),
      ],
      result: t.ref('session'),
      resultDoc: 'A pool-internal session',
      role: 'pool-admin',
      sessionless: true,
      internal: true,
    }),
  ],
});
