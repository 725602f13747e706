/**
 * @module
 * Messages: alerts the toolstack raises about objects (a host went offline, a VM failed to
 * start). They are kept apart from the object tables and read with their own calls.
 */
import { cls, message, param, runtime, t } from './dsl.js';
import { messageCls } from './enums.js';

export const messageClass = cls('message', {
  doc: 'An alert about an object, with a priority and text for the administrator',
  writeRole: 'pool-operator',
  accessors: false,
  fields: [
    runtime('name', t.string, 'Kind of alert, such as HA_HOST_FAILED'),
    runtime('priority', t.int, 'How important the alert is; 1 is the most urgent'),
    runtime('cls', t.enum(messageCls), 'Class of the object the alert is about'),
    runtime('obj_uuid', t.string, 'uuid of the object the alert is about'),
    runtime('timestamp', t.datetime, 'When the alert was raised'),
    runtime('body', t.string, 'Text of the alert'),
  ],
  messages: [
    message('create', {
      doc: 'Raises a new alert about an object',
      params: [
        param('name', t.string, 'Kind of alert'),
        param('priority', t.int, 'Importance; 1 is the most urgent'),
        param('cls', t.enum(messageCls), 'Class of the object'),
        param('obj_uuid', t.string, 'uuid of the object'),
        param('body', t.string, 'Text of the alert'),
      ],
      result: t.ref('message'),
      resultDoc: 'The new message',
      role: 'pool-operator',
    }),
    message('destroy', {
      doc: 'Deletes an alert',
      params: [
        param('self', t.ref('message'), 'The message to delete'),
      ],
      role: 'pool-operator',
    }),
    message('destroy_many', {
      doc: 'Deletes several alerts at once',
      params: [
        param('messages', t.set(t.ref('message')), 'The messages to delete'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('get', {
      doc: 'Returns the alerts about one object raised after a time',
      params: [
        param('cls', t.enum(messageCls), 'Class of the object'),
        param('obj_uuid', t.string, 'uuid of the object'),
        param('since', t.datetime, 'Only alerts newer than this'),
      ],
      result: t.map(t.ref('message'), t.record('message')),
      resultDoc: 'Matching messages by reference',
      role: 'read-only',
    }),
    message('get_all', {
      doc: 'Lists every alert',
      result: t.set(t.ref('message')),
      resultDoc: 'All messages',
      role: 'read-only',
    }),
    message('get_since', {
      doc: 'Returns every alert raised after a time',
      params: [
        param('since', t.datetime, 'Only alerts newer than this'),
      ],
      result: t.map(t.ref('message'), t.record('message')),
      resultDoc: 'Matching messages by reference',
      role: 'read-only',
    }),
    message('get_record', {
      doc: 'Returns one alert',
      params: [
        param('self', t.ref('message'), 'The message'),
      ],
      result: t.record('message'),
      resultDoc: 'Its record',
      role: 'read-only',
    }),
    message('get_by_uuid', {
      doc: 'Finds an alert by its uuid',
      params: [
        param('uuid', t.string, 'Its uuid'),
      ],
      result: t.ref('message'),
      resultDoc: 'The message',
      role: 'read-only',
    }),
    message('get_all_records', {
      doc: 'Returns every alert with its record',
      result: t.map(t.ref('message'), t.record('message')),
      resultDoc: 'All messages by reference',
      role: 'read-only',
    }),
    message('get_all_records_where', {
      doc: 'Returns the alerts matching a filter expression',
      params: [
        param('expr', t.string, 'The filter expression'),
      ],
      result: t.map(t.ref('message'), t.record('message')),
      resultDoc: 'Matching messages by reference',
      role: 'read-only',
    }),
  ],
});
