/**
 * @module
 * What every SR driver Islet ships says of its origin in its SM record.
 */
export const ISLET_DRIVER = { vendor: 'Islet', copyright: '(C) the Islet authors', version: '1.0' } as const;
