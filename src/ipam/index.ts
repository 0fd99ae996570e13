// IPAM: subnet arithmetic, pool choice and validation, per-network address allocation.
export * from './subnet';
export * from './pools';
export * from './allocator';
