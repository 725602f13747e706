/**
 * @module
 * What stops and starts this host's processes. Under `islet pool up` that is the pool
 * supervisor, asked over its control socket: a toolstack restart replaces only this
 * toolstack process (the hypervisor process and its domains live on), a reboot replaces
 * both, a shutdown stops both. The request returns at once and the supervisor acts after
 * a short delay, so that the XenAPI call that asked can still be answered. A host run
 * alone (`islet server`) has nobody to restart it and refuses.
 */
import { ApiError } from '../core/api-error.js';
import { ENV_HOST_INDEX, ENV_SOCKET, supervisorHostAction } from './supervisor/supervisor-client.js';

import type { LifecycleAction } from '../core/ports/pool-membership.js';

export type { LifecycleAction };

export interface HostLifecycle {
  readonly supervised: boolean;
  request(action: LifecycleAction): Promise<void>;
}

/** Delay between the request and the act, so the reply gets out first. */
const ACT_DELAY_MS = 300;

export function lifecycleFromEnv(env: NodeJS.ProcessEnv = process.env): HostLifecycle {
  const socket = env[ENV_SOCKET];
  const index = Number(env[ENV_HOST_INDEX]);
  if (socket && Number.isInteger(index)) {
    return {
      supervised: true,
      request: async (action) => {
        try {
          await supervisorHostAction(socket, index, action, { delayMs: ACT_DELAY_MS });
        } catch (e) {
          throw new ApiError('INTERNAL_ERROR', [`the pool supervisor refused ${action}: ${e instanceof Error ? e.message : String(e)}`]);
        }
      },
    };
  }
  return {
    supervised: false,
    request: async (action) => {
      throw new ApiError('OPERATION_NOT_ALLOWED', [
        `${action} needs a supervisor to stop and start this host's processes: run the host under "islet pool up"`,
      ]);
    },
  };
}
