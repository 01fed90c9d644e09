export * from './errors.js';
export * from './log.js';
