export * from './gatehouse-props';
export * from './gateway-config';
export * from './gateway-ports';
