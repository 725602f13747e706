/**
 * @module
 * Which module implements which class's explicit messages. Generic messages (getters,
 * setters, create/destroy) need no entry: the dispatcher derives them from the datamodel.
 */
import type { ClassActions } from '../actions/context.js';
import { eventActions } from '../actions/event.js';
import { sessionActions } from '../actions/session.js';
import { subjectActions } from '../actions/subject.js';
import { taskActions } from '../actions/task.js';

export const actionsByClass: Readonly<Record<string, ClassActions>> = {
  session: sessionActions,
  subject: subjectActions,
  task: taskActions,
  event: eventActions,
};
