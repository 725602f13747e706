/**
 * @module
 * A PIF's IPv4 configuration as `PIF.reconfigure_ip` takes it, checked as xapi checks it:
 * in static mode the address and netmask are required and every address given must be a
 * dotted quad (INVALID_IP_ADDRESS_SPECIFIED names the parameter at fault); a netmask must
 * also be a run of ones then zeros. DHCP and None carry no addresses.
 */
import { ApiError } from '../../core/api-error.js';

export type IpMode = 'None' | 'DHCP' | 'Static';

export interface IpConfig {
  readonly ip_configuration_mode: IpMode;
  readonly IP: string;
  readonly netmask: string;
  readonly gateway: string;
  readonly DNS: string;
}

export const NO_IP: IpConfig = { ip_configuration_mode: 'None', IP: '', netmask: '', gateway: '', DNS: '' };

/** The four octets of a dotted quad, or undefined when it is not one. */
export function ipv4Octets(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

function isNetmask(s: string): boolean {
  const o = ipv4Octets(s);
  if (!o) return false;
  const bits = o.map((x) => x.toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits);
}

function check(param: string, value: string, ok: (v: string) => boolean): void {
  if (!ok(value)) throw new ApiError('INVALID_IP_ADDRESS_SPECIFIED', [param]);
}

/** Checks what `reconfigure_ip` was given and returns what the PIF will record. */
export function ipConfigOf(mode: string, ip: string, netmask: string, gateway: string, dns: string): IpConfig {
  if (mode === 'None') return NO_IP;
  if (mode === 'DHCP') return { ...NO_IP, ip_configuration_mode: 'DHCP' };
  if (mode !== 'Static') throw new ApiError('INVALID_VALUE', ['mode', mode]);
  check('IP', ip, (v) => ipv4Octets(v) !== undefined);
  check('netmask', netmask, isNetmask);
  if (gateway !== '') check('gateway', gateway, (v) => ipv4Octets(v) !== undefined);
  const servers = dns.split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of servers) check('DNS', d, (v) => ipv4Octets(v) !== undefined);
  return { ip_configuration_mode: 'Static', IP: ip, netmask, gateway, DNS: servers.join(',') };
}

/** The IP fields of a PIF row. */
export function ipConfigOfRow(row: Record<string, unknown>): IpConfig {
  return {
    ip_configuration_mode: (String(row.ip_configuration_mode ?? 'None') as IpMode),
    IP: String(row.IP ?? ''), netmask: String(row.netmask ?? ''), gateway: String(row.gateway ?? ''), DNS: String(row.DNS ?? ''),
  };
}
