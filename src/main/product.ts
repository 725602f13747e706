/**
 * @module
 * What this toolstack says it is. Islet presents itself as XenServer 6.0.2 (API 1.9),
 * the release the customer's hotfix note is for. Xen Orchestra picks its legacy
 * `pool_patch` update path when `software_version.platform_version` is below 2.1.1, so
 * the platform version is 1.x; see docs/compatibility.md for the reasoning.
 */
export const ISLET_VERSION = '0.1.0';

export const API_VERSION = { major: 1, minor: 9, vendor: 'XenSource' } as const;

export function softwareVersion(hostName: string): Record<string, string> {
  return {
    product_version: '6.0.2',
    product_version_text: '6.0',
    product_version_text_short: '6.0',
    platform_name: 'XCP',
    platform_version: '1.4.1',
    product_brand: 'XenServer',
    build_number: '53456p',
    hostname: hostName,
    date: '2012-03-05',
    dbv: '2012.0301',
    xapi: '1.3',
    xen: '4.1.2',
    linux: '2.6.32.12-0.7.1.xs6.0.2.542.170665xen',
    xencenter_min: '1.9',
    xencenter_max: '1.9',
    network_backend: 'openvswitch',
    islet: ISLET_VERSION,
  };
}
