// IPAM: subnet arithmetic, pool choice and validation, per-network address allocation.
export * from './subnet';
export * from './pools';
export * from './allocator';
export * from './subnet6';
export * from './pools6';
export * from './allocator6';
