/**
 * @module
 * The file SR's crash points are the toolstack's named crash points (see
 * `src/core/crash-point.ts`), kept under this name for the SR modules that mark them.
 */
export { crashPoint } from '../../core/crash-point.js';
