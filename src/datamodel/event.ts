/**
 * @module
 * Events: notifications that objects were added, changed or removed. event.from returns
 * the changes after a token, with full snapshots, and is how clients keep caches in step.
 */
import { cls, ctor, message, param, runtime, t } from './dsl.js';
import { eventOperation } from './enums.js';

export const event = cls('event', {
  doc: 'A change to an object in the pool database, as seen by a subscriber',
  persist: false,
  writeRole: 'pool-operator',
  accessors: false,
  uuid: false,
  fields: [
    runtime('snapshot', t.opaque('<class> record'), 'The object\'s record after the change'),
    ctor('id', t.int, 'Sequence number of the event'),
    ctor('timestamp', t.datetime, 'When the event was raised (kept for old clients)'),
    ctor('class', t.string, 'Class of the object that changed'),
    ctor('operation', t.enum(eventOperation), 'Whether the object was added, modified or deleted'),
    ctor('ref', t.string, 'Reference of the object that changed'),
    ctor('obj_uuid', t.string, 'uuid of the object that changed (kept for old clients)'),
  ],
  messages: [
    message('register', {
      doc: 'Subscribes the session to changes of the given classes (old event API)',
      params: [
        param('classes', t.set(t.string), 'Class names to watch, or * for all'),
      ],
      role: 'read-only',
      async: true,
    }),
    message('unregister', {
      doc: 'Drops subscriptions made with register',
      params: [
        param('classes', t.set(t.string), 'Class names to stop watching'),
      ],
      role: 'read-only',
      async: true,
    }),
    message('next', {
      doc: 'Waits for and returns events for the registered classes (old event API)',
      result: t.set(t.record('event')),
      resultDoc: 'The events since the previous call',
      errors: ['SESSION_NOT_REGISTERED', 'EVENTS_LOST'],
      role: 'read-only',
    }),
    message('from', {
      doc: 'Returns the changes after a token for the given classes, waiting up to a timeout when there are none',
      params: [
        param('classes', t.set(t.string), 'Class names (or class/ref pairs) to watch, * for all'),
        param('token', t.string, 'Token from the previous call, empty to start from now'),
        param('timeout', t.float, 'Seconds to wait for a change before returning empty'),
      ],
      result: t.opaque('an event batch'),
      resultDoc: 'The changes, a new token and whether events were lost',
      errors: ['SESSION_NOT_REGISTERED', 'EVENTS_LOST'],
      role: 'read-only',
    }),
    message('get_current_id', {
      doc: 'Returns the number of the latest event',
      result: t.int,
      resultDoc: 'The current event number',
      role: 'read-only',
    }),
    message('inject', {
      doc: 'Raises a modification event for an object without changing it',
      params: [
        param('class', t.string, 'Class of the object'),
        param('ref', t.string, 'Reference of the object'),
      ],
      result: t.string,
      resultDoc: 'A token just after the injected event',
      role: 'read-only',
    }),
  ],
});
