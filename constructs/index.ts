export * from '../contract/definition';
export * from '../contract/routing/config';
export * from '../contract/skills/catalog';
export * from './aws';
