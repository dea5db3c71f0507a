export * from './schema';
export * from './define';
export { definitionVersion, verifyIntegrity } from './integrity';
export * from './load';
