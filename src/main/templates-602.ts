/**
 * @module
 * The guest templates XenServer 6.0.2 ships, as data: the operating systems its guide lists
 * as supported, each with the memory and system disk it recommends and the way it installs
 * (Windows and "Other install media" as HVM guests booting from CD; Linux distributions as
 * PV guests installed by the `eliloader` from CD or a network repository).
 */

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface TemplateSpec {
  readonly name: string;
  /** Memory the VM starts with (static max, dynamic range) and the least it may have. */
  readonly memory: number;
  readonly minMemory: number;
  readonly disk: number;
  readonly kind: 'windows' | 'linux' | 'other';
  /** For Linux: how the installer finds the distribution, and its architecture. */
  readonly distro?: 'rhlike' | 'sleslike' | 'debianlike';
  readonly arch?: 'i386' | 'x86_64';
  readonly extra?: Readonly<Record<string, string>>;
}

const win = (name: string, memory: number, disk: number): TemplateSpec => ({ name, memory, minMemory: memory, disk, kind: 'windows' });
const lin = (name: string, distro: TemplateSpec['distro'], memory: number, minMemory: number, disk = 8 * GiB, extra?: Record<string, string>): TemplateSpec => ({
  name, memory, minMemory, disk, kind: 'linux', distro, arch: name.includes('64-bit') ? 'x86_64' : 'i386', ...(extra ? { extra } : {}),
});

export const TEMPLATES_602: readonly TemplateSpec[] = [
  { name: 'Other install media', memory: 256 * MiB, minMemory: 256 * MiB, disk: 32 * GiB, kind: 'other' },
  win('Windows 7 (32-bit)', 1 * GiB, 24 * GiB),
  win('Windows 7 (64-bit)', 2 * GiB, 24 * GiB),
  win('Windows Vista (32-bit)', 1 * GiB, 24 * GiB),
  win('Windows XP SP3 (32-bit)', 256 * MiB, 8 * GiB),
  win('Windows Server 2003 (32-bit)', 256 * MiB, 8 * GiB),
  win('Windows Server 2003 (64-bit)', 256 * MiB, 8 * GiB),
  win('Windows Server 2008 (32-bit)', 512 * MiB, 24 * GiB),
  win('Windows Server 2008 (64-bit)', 512 * MiB, 24 * GiB),
  win('Windows Server 2008 R2 (64-bit)', 512 * MiB, 24 * GiB),
  win('Citrix XenApp on Windows Server 2003 (32-bit)', 256 * MiB, 8 * GiB),
  win('Citrix XenApp on Windows Server 2003 (64-bit)', 256 * MiB, 8 * GiB),
  win('Citrix XenApp on Windows Server 2008 (32-bit)', 512 * MiB, 24 * GiB),
  win('Citrix XenApp on Windows Server 2008 (64-bit)', 512 * MiB, 24 * GiB),
  win('Citrix XenApp on Windows Server 2008 R2 (64-bit)', 512 * MiB, 24 * GiB),
  ...['4.5', '4.6', '4.7', '4.8'].map((v) => lin(`CentOS ${v} (32-bit)`, 'rhlike', 256 * MiB, 256 * MiB)),
  lin('CentOS 5 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('CentOS 5 (64-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('CentOS 6 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('CentOS 6 (64-bit)', 'rhlike', 1 * GiB, 512 * MiB),
  lin('Debian Lenny 5.0 (32-bit)', 'debianlike', 128 * MiB, 128 * MiB, 8 * GiB, { 'debian-release': 'lenny', 'install-methods': 'http,ftp' }),
  lin('Debian Squeeze 6.0 (32-bit)', 'debianlike', 128 * MiB, 128 * MiB, 8 * GiB, { 'debian-release': 'squeeze', 'install-methods': 'cdrom,http,ftp' }),
  lin('Debian Squeeze 6.0 (64-bit)', 'debianlike', 128 * MiB, 128 * MiB, 8 * GiB, { 'debian-release': 'squeeze', 'install-methods': 'cdrom,http,ftp' }),
  lin('Oracle Enterprise Linux 5 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Oracle Enterprise Linux 5 (64-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Oracle Linux 6 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Oracle Linux 6 (64-bit)', 'rhlike', 1 * GiB, 512 * MiB),
  ...['4.5', '4.6', '4.7', '4.8'].map((v) => lin(`Red Hat Enterprise Linux ${v} (32-bit)`, 'rhlike', 256 * MiB, 256 * MiB)),
  lin('Red Hat Enterprise Linux 5 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Red Hat Enterprise Linux 5 (64-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Red Hat Enterprise Linux 6 (32-bit)', 'rhlike', 512 * MiB, 512 * MiB),
  lin('Red Hat Enterprise Linux 6 (64-bit)', 'rhlike', 1 * GiB, 512 * MiB),
  lin('SUSE Linux Enterprise Server 9 SP4 (32-bit)', 'sleslike', 256 * MiB, 256 * MiB),
  ...['SP1', 'SP2', 'SP3', 'SP4'].flatMap((sp) => ['32-bit', '64-bit'].map((a) => lin(`SUSE Linux Enterprise Server 10 ${sp} (${a})`, 'sleslike', 512 * MiB, 512 * MiB))),
  lin('SUSE Linux Enterprise Server 11 (32-bit)', 'sleslike', 512 * MiB, 512 * MiB),
  lin('SUSE Linux Enterprise Server 11 (64-bit)', 'sleslike', 512 * MiB, 512 * MiB),
  lin('SUSE Linux Enterprise Server 11 SP1 (32-bit)', 'sleslike', 512 * MiB, 512 * MiB),
  lin('SUSE Linux Enterprise Server 11 SP1 (64-bit)', 'sleslike', 512 * MiB, 512 * MiB),
  lin('Ubuntu Lucid Lynx 10.04 (32-bit)', 'debianlike', 256 * MiB, 128 * MiB, 8 * GiB, { 'debian-release': 'lucid', 'install-methods': 'cdrom,http,ftp' }),
  lin('Ubuntu Lucid Lynx 10.04 (64-bit)', 'debianlike', 256 * MiB, 128 * MiB, 8 * GiB, { 'debian-release': 'lucid', 'install-methods': 'cdrom,http,ftp' }),
];
