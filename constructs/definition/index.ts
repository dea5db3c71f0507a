export * from './schema';
export * from './define';
export * from './load';
export * from './encoding';
