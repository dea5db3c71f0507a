export * from './agent-api';
export * from './agent-bus';
export * from './agent-function';
export * from './agent-queue';
export * from './dead-letter-queue';
export * from './model-router';
export * from './skill-bucket';
