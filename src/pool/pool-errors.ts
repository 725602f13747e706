/**
 * @module
 * The XenAPI error codes pool membership raises beyond the core table, declared once when
 * the pool layer loads. Names and parameters follow xapi's api_errors.
 */
import { declareErrors } from '../datamodel/errors.js';

declareErrors({
  JOINING_HOST_CONNECTION_FAILED: [],
  JOINING_HOST_SERVICE_FAILED: [],
  JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS: [],
  JOINING_HOST_CANNOT_HAVE_RUNNING_VMS: [],
  POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION: ['host_api_version', 'master_api_version'],
  HOST_ITS_OWN_SLAVE: [],
  HOST_UNKNOWN_TO_MASTER: ['host'],
  HOST_IS_LIVE: ['host'],
  CANNOT_CONTACT_HOST: ['host'],
  DESIGNATE_NEW_MASTER_IN_PROGRESS: [],
  HOST_CANNOT_DESTROY_SELF: ['host'],
  HOST_HAS_RESIDENT_VMS: ['host'],
});

export {};
