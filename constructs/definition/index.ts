export * from './schema';
export * from './define';
export * from './encoding';
