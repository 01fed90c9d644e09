export * from './dump-context.js';
export * from './kind.js';
export { taskKinds } from './registry.js';
