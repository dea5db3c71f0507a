export * from './definition';
export * from './routing/config';
export * from './skills/catalog';
export * from './aws';
