// Test support (not built): the kernel package's fixture launcher.
export * from '../../kernel/test/target.js';
