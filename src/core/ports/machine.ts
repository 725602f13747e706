/**
 * @module
 * The machine port: what the physical machine under a host says about itself (its CPUs,
 * its memory and how busy each CPU has been). XenServer reads these from Xen and dom0;
 * Islet reads them from the operating system it runs on, so `host.cpu_info`,
 * `host_cpu` and `host_metrics` describe a real machine rather than a made-up one.
 */

/** One logical CPU as the operating system lists it. */
export interface CpuFacts {
  readonly number: number;
  readonly vendor: string;
  readonly modelname: string;
  /** MHz, rounded. */
  readonly speed: number;
  readonly family: number;
  readonly model: number;
  readonly stepping: string;
  readonly flags: string;
  /** Physical package the CPU sits in (sockets are counted from these). */
  readonly socket: number;
}

export interface MemoryFacts {
  /** Bytes of memory the machine has. */
  readonly total: number;
  /** Bytes the operating system could give to new work without swapping. */
  readonly available: number;
}

/** Cumulative busy and total time of each CPU, in clock ticks; busy/total of two readings' difference is the utilisation. */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

export interface Machine {
  cpus(): Promise<CpuFacts[]>;
  memory(): Promise<MemoryFacts>;
  /** One entry per CPU, in CPU number order. */
  cpuTimes(): Promise<CpuTimes[]>;
  /** The 1-minute load average. */
  loadAverage(): Promise<number>;
  /** Bytes each OS network interface received and sent since boot, by interface name. */
  netDevices?(): Promise<Map<string, { rxBytes: number; txBytes: number }>>;
}
