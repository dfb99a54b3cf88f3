export * from './gatehouse';
export * from './gateway-cloud-run';
export * from './gateway-network';
export * from './gateway-tcp-instances';
export * from './record-bucket';
export * from './state-database';
export * from './upstream-credentials';
export * from './workload-identity-federation';
