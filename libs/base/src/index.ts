export * from './errors.js';
export * from './log.js';
export * from './fault.js';
export * from './interrupt.js';
