export * from './connection-spec';
export * from './gatehouse-props';
export * from './gateway-config';
export * from './gateway-ports';
export * from './image-files';
export * from './stack-outputs';
